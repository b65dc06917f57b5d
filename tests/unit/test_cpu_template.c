/*
 * Custom CPU templates: the cpu-config body as Firecracker writes it (numbers as
 * integers, hex, binary or decimal text; bitmaps of 0/1/x with '_'), its refusals by
 * field, its round trip through GET /vm/config's form, and its application to a CPUID
 * table (bits set and cleared, x left, host limits) without KVM.
 */
#include "../../arch/cpu_template.h"
#include "../../config/config_json.h"
#include "helpers.h"

static struct errbuf e;
static struct vm_config cfg;

static void setup(void)
{
	memset(&e, 0, sizeof(e));
	config_init(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

TestSuite(cpu_template, .init = setup, .fini = teardown);

static int put(const char *text)
{
	json_t *j = config_json_parse(text, strlen(text), &e);
	cr_assert_not_null(j, "%s", e.msg);
	int r = config_json_cpu_config(&cfg, j, &e);
	json_decref(j);
	return r;
}

Test(cpu_template, firecrackers_number_and_bitmap_forms)
{
	cr_assert_eq(put("{\"kvm_capabilities\": [\"121\", \"!56\"],"
			 " \"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0b1\", \"flags\": 1,"
			 "  \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": "
			 "\"0bxxxx_xxxx_xxxx_xxxx_xxxx_xxxx_xxxx_x10x\"}]}],"
			 " \"msr_modifiers\": [{\"addr\": 416, \"bitmap\": \"0b"
			 "1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0\"}]}"),
		     0, "%s", e.msg);
	const struct cpu_template *t = &cfg.cpu_template;
	cr_assert(cfg.has_cpu_template);
	cr_assert_eq(t->ncaps, 2);
	cr_assert_eq(t->caps[0], 121);
	cr_assert_eq(t->caps[1], ~56);
	cr_assert_eq(t->ncpuid, 1);
	cr_assert_eq(t->cpuid[0].leaf, 7);
	cr_assert_eq(t->cpuid[0].subleaf, 1);
	cr_assert_eq(t->cpuid[0].reg, CPUID_EBX);
	cr_assert_eq(t->cpuid[0].mask, 0x6);
	cr_assert_eq(t->cpuid[0].value, 0x4);
	cr_assert_eq(t->nmsrs, 1);
	cr_assert_eq(t->msrs[0].addr, 0x1a0);
	cr_assert_eq(t->msrs[0].mask, (1ULL << 63) | 1);
	cr_assert_eq(t->msrs[0].value, 1ULL << 63);
}

Test(cpu_template, refusals_name_the_field)
{
	static const struct { const char *body, *want; } cases[] = {
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": 0, \"flags\": 0, \"modifiers\": "
		  "[{\"register\": \"ecx\", \"bitmap\": \"0b01\"}]}]}", "2 bits, a bitmap here has 32" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": 0, \"flags\": 0, \"modifiers\": "
		  "[{\"register\": \"esi\", \"bitmap\": \"0b0\"}]}]}", "'esi' is not one of eax, ebx, ecx, edx" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": 0, \"flags\": 0, \"modifiers\": "
		  "[{\"register\": \"ecx\", \"bitmap\": \"1111\"}]}]}", "a bitmap is \"0b\" followed by 32" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": -1, \"subleaf\": 0, \"flags\": 0, \"modifiers\": []}]}",
		  "cpuid_modifiers.leaf: expected a number" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": 0, \"flags\": 2, \"modifiers\": []}]}",
		  "flags: expected a number up to 0x1" },
		{ "{\"cpuid_modifiers\": [{\"leaf\": 1, \"flags\": 0, \"modifiers\": []}]}",
		  "subleaf: missing" },
		{ "{\"msr_modifiers\": [{\"addr\": \"0x10000000000\", \"bitmap\": \"0b1\"}]}",
		  "addr: expected a number up to 0xffffffff" },
		{ "{\"kvm_capabilities\": [\"!x\"]}", "'!x' is not N or !N" },
		{ "{\"vcpu_features\": [{\"index\": 0, \"bitmap\": \"0b1\"}]}", "for ARM hosts" },
		{ "{\"cpuid\": []}", "unknown field 'cpuid'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(put(cases[i].body), -1, "accepted %s", cases[i].body);
		assert_msg_has(e, cases[i].want);
		cr_assert(!cfg.has_cpu_template, "a refused body sets nothing");
	}
}

Test(cpu_template, round_trips_through_vm_config)
{
	cr_assert_eq(put("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0,"
			 " \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": "
			 "\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0\"}, {\"register\": \"eax\", \"bitmap\": "
			 "\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx0101\"}]}], \"kvm_capabilities\": [\"!7\"]}"),
		     0, "%s", e.msg);
	json_t *dump = config_json_dump(&cfg);
	json_t *cc = json_object_get(dump, "cpu-config");
	cr_assert_not_null(cc);
	struct cpu_template before = cfg.cpu_template;
	memset(&cfg.cpu_template, 0, sizeof(cfg.cpu_template));
	cr_assert_eq(config_json_cpu_config(&cfg, cc, &e), 0, "%s", e.msg);
	cr_assert_eq(memcmp(&before, &cfg.cpu_template, sizeof(before)), 0, "same template again");
	json_decref(dump);
}

Test(cpu_template, applied_to_a_cpuid_table)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 entries[2];
	} c = { .hdr.nent = 2 }, host = { .hdr.nent = 2 };
	c.entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x800f10, .ecx = 0x3 };
	c.entries[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0,
						  .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	host = c;
	struct cpu_template t = { .ncpuid = 2 };
	t.cpuid[0] = (struct cpuid_modifier){ .leaf = 1, .reg = CPUID_ECX, .mask = 1, .value = 0 };
	t.cpuid[1] = (struct cpuid_modifier){ .leaf = 1, .reg = CPUID_EAX, .mask = 0xf, .value = 5 };
	cr_assert_eq(cpu_template_apply_cpuid(&t, &c.hdr, &host.hdr, &e), 0, "%s", e.msg);
	cr_assert_eq(c.entries[0].ecx, 0x2, "bit 0 cleared, bit 1 left");
	cr_assert_eq(c.entries[0].eax, 0x800f15, "stepping set, the rest left");
	/* A feature flag the host lacks (leaf 7 ebx bit 5) is refused; clearing one is not. */
	t.cpuid[0] = (struct cpuid_modifier){ .leaf = 7, .flags = 1, .reg = CPUID_EBX,
					      .mask = 1u << 5, .value = 1u << 5 };
	t.ncpuid = 1;
	cr_assert_eq(cpu_template_apply_cpuid(&t, &c.hdr, &host.hdr, &e), -1);
	assert_msg_has(e, "CPUID 0x7.0 ebx bits 0x00000020");
	t.cpuid[0].leaf = 0x40;
	cr_assert_eq(cpu_template_apply_cpuid(&t, &c.hdr, &host.hdr, &e), -1);
	assert_msg_has(e, "leaf 0x40 subleaf 0x0 is not one KVM offers");
}
