/*
 * Custom CPU templates: the cpu-config body as Firecracker writes it (numbers as
 * integers, hex, binary or decimal text; bitmaps of 0/1/x with '_'), its refusals by
 * field, its round trip through GET /vm/config's form, and its application to a CPUID
 * table (bits set and cleared, x left, host limits) without KVM.
 */
#include "../../arch/cpu_template.h"
#include "../../arch/cpuid.h"
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

/* ---- Firecracker's static templates (machine-config "cpu_template") ---- */

#define AMD "AuthenticAMD"
#define INTEL "GenuineIntel"

Test(cpu_template, static_templates_refuse_the_other_vendor)
{
	static struct cpu_template t;
	for (int w = CPU_TEMPLATE_C3; w <= CPU_TEMPLATE_T2CL; w++) {
		cr_assert_eq(cpu_template_static(w, AMD, &t, &e), -1);
		assert_msg_has(e, "is for Intel hosts; this host's CPU is AuthenticAMD");
		cr_assert_eq(cpu_template_static(w, INTEL, &t, &e), 0, "%s", e.msg);
	}
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_T2A, INTEL, &t, &e), -1);
	assert_msg_has(e, "cpu_template T2A is for AMD hosts; this host's CPU is GenuineIntel");
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_NONE, INTEL, &t, &e), -1);
}

/* A CPUID table with every bit of the leaves the templates touch set: what a template
   leaves set, clears and sets shows in each register. */
struct full_cpuid {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 entries[6];
};

static void full_cpuid(struct full_cpuid *c)
{
	static const uint32_t leaves[6][2] = { { 1, 0 }, { 7, 0 }, { 0xd, 0 },
					       { 0xd, 1 }, { 0x80000001, 0 }, { 0x80000008, 0 } };
	memset(c, 0, sizeof(*c));
	c->hdr.nent = 6;
	for (int i = 0; i < 6; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = leaves[i][0], .index = leaves[i][1],
			.flags = leaves[i][0] == 7 || leaves[i][0] == 0xd ?
					 KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = ~0u, .ebx = ~0u, .ecx = ~0u, .edx = ~0u };
}

static unsigned family(uint32_t eax) { return ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff); }
static unsigned model(uint32_t eax) { return ((eax >> 4) & 0xf) | ((eax >> 12) & 0xf0); }

Test(cpu_template, t2a_shows_a_haswell_instruction_set_on_amd)
{
	static struct cpu_template t;
	struct full_cpuid c, host;
	full_cpuid(&c);
	full_cpuid(&host);
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_T2A, AMD, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(cpu_template_apply_cpuid(&t, &c.hdr, &host.hdr, &e), 0, "%s", e.msg);
	uint32_t eax1 = c.entries[0].eax;
	cr_assert_eq(family(eax1), 6);
	cr_assert_eq(model(eax1), 0x3f);
	cr_assert_eq(eax1 & 0xf, 2, "stepping");
	cr_assert_eq(c.entries[1].ebx & (1u << 16), 0, "AVX512F hidden");
	cr_assert_eq(c.entries[1].ebx & (1u << 5), 1u << 5, "AVX2 left as the host has it");
	cr_assert_eq(c.entries[1].ecx & (1u << 16), 0, "LA57 hidden");
	cr_assert_eq(c.entries[2].eax & 0x2f8, 0, "no AVX-512, MPX or PKRU XSAVE state");
	cr_assert_eq(c.entries[5].ebx & 0x001c0205, 0x001c0004, "0x80000008 ebx as Milan's");
	cr_assert_eq(t.nmsrs, 0u);

	/* A host without ERMS cannot show it: refused with the bit named. */
	full_cpuid(&c);
	host.entries[1].ebx &= ~(1u << 9);
	c.entries[1].ebx &= ~(1u << 9);
	cr_assert_eq(cpu_template_apply_cpuid(&t, &c.hdr, &host.hdr, &e), -1);
	assert_msg_has(e, "CPUID 0x7.0 ebx bits 0x00000200");
}

Test(cpu_template, intel_templates_differ_where_their_instances_do)
{
	static struct cpu_template c3, t2, t2s, t2cl;
	struct full_cpuid a, b, host;
	full_cpuid(&host);
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_C3, INTEL, &c3, &e), 0);
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_T2, INTEL, &t2, &e), 0);
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_T2S, INTEL, &t2s, &e), 0);
	cr_assert_eq(cpu_template_static(CPU_TEMPLATE_T2CL, INTEL, &t2cl, &e), 0);
	full_cpuid(&a);
	cr_assert_eq(cpu_template_apply_cpuid(&c3, &a.hdr, &host.hdr, &e), 0, "%s", e.msg);
	cr_assert_eq(model(a.entries[0].eax), 0x3e, "C3: an Ivy Bridge");
	cr_assert_eq(a.entries[0].eax & 0xf, 4);
	cr_assert_eq(a.entries[1].ebx & (1u << 9), 1u << 9, "C3 leaves ERMS as the host has it");
	/* T2 and T2S show the same CPUID; T2S fixes ARCH_CAPABILITIES whole, T2CL clears bits. */
	full_cpuid(&a);
	full_cpuid(&b);
	cr_assert_eq(cpu_template_apply_cpuid(&t2, &a.hdr, &host.hdr, &e), 0);
	cr_assert_eq(cpu_template_apply_cpuid(&t2s, &b.hdr, &host.hdr, &e), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(t2.nmsrs, 0u);
	cr_assert_eq(t2s.nmsrs, 1u);
	cr_assert_eq(t2s.msrs[0].addr, 0x10au);
	cr_assert_eq(t2s.msrs[0].mask, ~0ULL);
	cr_assert_eq(t2s.msrs[0].value, 0x0c0a0c4cULL);
	cr_assert_eq(t2cl.msrs[0].value, 0ULL);
	full_cpuid(&b);
	cr_assert_eq(cpu_template_apply_cpuid(&t2cl, &b.hdr, &host.hdr, &e), 0);
	cr_assert_eq(b.entries[4].edx & 0x07c00000, 0, "T2CL hides more of 0x80000001 edx");
	cr_assert_neq(a.entries[4].edx & 0x03c00000, 0, "which T2 leaves");
}

/* The machine-config field: the host's vendor decides which templates it takes. */
static int put_machine(const char *text)
{
	json_t *j = config_json_parse(text, strlen(text), &e);
	cr_assert_not_null(j, "%s", e.msg);
	int r = config_json_machine(&cfg, j, true, &e);
	json_decref(j);
	return r;
}

Test(cpu_template, machine_config_cpu_template)
{
	char vendor[13];
	cpuid_host_vendor(vendor);
	bool amd = strcmp(vendor, AMD) == 0, intel = strcmp(vendor, INTEL) == 0;
	cr_assert_eq(put_machine("{\"cpu_template\": \"T2\"}"), intel ? 0 : -1, "%s", e.msg);
	cr_assert_eq(put_machine("{\"cpu_template\": \"T2A\"}"), amd ? 0 : -1, "%s", e.msg);
	if (!amd && !intel)
		return; /* neither vendor's templates apply: both refused above */
	const char *mine = amd ? "T2A" : "T2";
	put_machine("{\"vcpu_count\": 3}");
	cr_assert(cfg.has_cpu_template, "an unrelated PATCH keeps the template");
	json_t *m = config_json_dump_machine(&cfg);
	cr_assert_str_eq(json_string_value(json_object_get(m, "cpu_template")), mine);
	json_decref(m);
	json_t *all = config_json_dump(&cfg);
	cr_assert(json_is_null(json_object_get(all, "cpu-config")), "a static template is not a custom one");
	json_decref(all);

	/* The other vendor's template is refused and changes nothing, vcpu_count included. */
	cr_assert_eq(put_machine(amd ? "{\"vcpu_count\": 1, \"cpu_template\": \"C3\"}" :
				       "{\"vcpu_count\": 1, \"cpu_template\": \"T2A\"}"), -1);
	assert_msg_has(e, amd ? "is for Intel hosts" : "is for AMD hosts");
	cr_assert_eq(cfg.machine.vcpus, 3u);
	cr_assert_eq(cfg.cpu_template_static, amd ? CPU_TEMPLATE_T2A : CPU_TEMPLATE_T2);

	/* A custom template replaces it; None drops any, as in Firecracker. */
	cr_assert_eq(put("{\"cpuid_modifiers\": []}"), 0, "%s", e.msg);
	cr_assert_eq(cfg.cpu_template_static, CPU_TEMPLATE_NONE);
	m = config_json_dump_machine(&cfg);
	cr_assert_null(json_object_get(m, "cpu_template"));
	json_decref(m);
	cr_assert_eq(put_machine("{\"cpu_template\": \"None\"}"), 0, "%s", e.msg);
	cr_assert(!cfg.has_cpu_template);
}
