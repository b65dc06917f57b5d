/*
 * The few libc pieces guest-min needs.  memcpy & co. must exist under their
 * standard names because gcc emits calls to them for struct copies and
 * initialisers even with -ffreestanding.  The build passes
 * -fno-tree-loop-distribute-patterns so these loops are not themselves turned
 * back into calls to memset/memcpy.
 */
#include "guest-min.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t gm_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool gm_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/*
 * Strict decimal: at least one digit, digits only, value <= max.  The
 * overflow check happens before the multiply, so no input can wrap.
 */
bool gm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		uint64_t d;

		if (*s < '0' || *s > '9')
			return false;
		d = (uint64_t)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* base is 10 or 16; anything else is treated as 10 so we never divide by 0. */
size_t gm_fmt_u64(char *buf, uint64_t v, unsigned base)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[21];
	size_t n = 0, i;

	if (base != 16)
		base = 10;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}
