/* What the jail flags hand over, checked for shape (see jail.h). */
#include <string.h>

#include "jail.h"

int jail_setting_parse(const char *kv, struct jail_setting *s, struct errbuf *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || !eq[1])
		return errf(e, "'%s' is not KEY=VALUE", kv);
	size_t klen = (size_t)(eq - kv), vlen = strlen(eq + 1);
	if (klen >= sizeof(s->key))
		return errf(e, "key '%.*s' is longer than %zu characters", (int)klen, kv,
			    sizeof(s->key) - 1);
	if (vlen >= sizeof(s->value))
		return errf(e, "value of '%.*s' is longer than %zu characters", (int)klen, kv,
			    sizeof(s->value) - 1);
	if (strchr(kv, '\n'))
		return errf(e, "'%.*s': a newline is not allowed", (int)klen, kv);
	memcpy(s->key, kv, klen);
	s->key[klen] = '\0';
	memcpy(s->value, eq + 1, vlen + 1);
	return 0;
}

int jail_check_id(const char *id, struct errbuf *e)
{
	size_t n = strlen(id);
	if (n == 0 || n > JAIL_MAX_ID)
		return errf(e, "--id '%s': under --jail an id is 1-%d characters", id, JAIL_MAX_ID);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return errf(e, "--id '%s': under --jail an id is letters, digits and '-' only "
				       "(it names the jail's directory and cgroup)", id);
	}
	return 0;
}
