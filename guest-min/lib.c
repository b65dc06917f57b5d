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

/*
 * A number as Linux's memparse reads virtio_mmio.device= sizes and bases:
 * decimal or 0x-hex, then an optional K/M/G suffix; exactly n characters.
 * Every multiply is checked first, so no input can wrap.
 */
bool gm_parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0, base = 10;
	unsigned shift = 0;
	size_t i = 0, digits = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < n; i++, digits++) {
		char ch = s[i];
		uint64_t d;

		if (ch >= '0' && ch <= '9')
			d = (uint64_t)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = (uint64_t)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = (uint64_t)(ch - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return false;
	if (i < n) {
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return false;
		}
		if (++i != n || v > (UINT64_MAX >> shift))
			return false;
	}
	*out = v << shift;
	return true;
}

extern char __image_end[]; /* guest-min.ld */
static uint64_t alloc_next;

static uint64_t alloc_top(void)
{
	return gm_ram_top ? gm_ram_top : GM_RAM_FALLBACK_TOP;
}

static uint64_t alloc_start(uint64_t align)
{
	if (!alloc_next)
		alloc_next = (uint64_t)(uintptr_t)__image_end;
	if (!align || (align & (align - 1)))
		align = 1;
	return (alloc_next + align - 1) & ~(align - 1);
}

void *gm_alloc(uint64_t size, uint64_t align)
{
	uint64_t a = alloc_start(align), top = alloc_top();

	if (a > top || size > top - a)
		return NULL;
	alloc_next = a + size;
	return (void *)(uintptr_t)a;
}

void *gm_zalloc(uint64_t size)
{
	uint64_t qwords = (size + 7) / 8;
	void *p = gm_alloc(qwords * 8, 64);

	if (p)
		gm_fill64(p, 0, qwords);
	return p;
}

uint64_t gm_alloc_left(uint64_t align)
{
	uint64_t a = alloc_start(align), top = alloc_top();

	return a < top ? top - a : 0;
}

#define PTE_P       (1ULL << 0)
#define PTE_W       (1ULL << 1)
#define PTE_PS      (1ULL << 7)
#define PTE_ADDR    0x000ffffffffff000ULL
#define CR4_LA57    (1ULL << 12)

/* One page-table entry; the table must lie where every entry maps it. */
static bool pte_read(uint64_t table, uint64_t index, uint64_t *e)
{
	table &= PTE_ADDR;
	if (table >= GM_IDENTITY_LIMIT || GM_IDENTITY_LIMIT - table < 4096)
		return false;
	*e = ((const volatile uint64_t *)(uintptr_t)table)[index & 511];
	return (*e & (PTE_P | PTE_W)) == (PTE_P | PTE_W);
}

/*
 * Below GM_IDENTITY_LIMIT every entry path guarantees the identity map.
 * Above it (the MMIO gap), walk the live 4-level tables: every level present
 * and writable, and the leaf mapping the same physical address, or a touch
 * would fault (and a fault kills guest-min silently).  Reading CR3/CR4 never
 * faults at CPL 0.
 */
bool gm_range_mapped(uint64_t addr, uint64_t len)
{
	uint64_t cr3, cr4, end, va;

	if (!len)
		len = 1;
	if (addr > GM_MMIO_END || len > GM_MMIO_END - addr)
		return false;
	end = addr + len;
	if (end <= GM_IDENTITY_LIMIT)
		return true;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & CR4_LA57)
		return false;
	for (va = addr & ~0xfffULL; va < end;) {
		uint64_t e, size;

		if (!pte_read(cr3, va >> 39, &e) || !pte_read(e, va >> 30, &e))
			return false;
		if (e & PTE_PS) {
			size = 1ULL << 30;
		} else {
			if (!pte_read(e, va >> 21, &e))
				return false;
			if (e & PTE_PS) {
				size = 1ULL << 21;
			} else {
				if (!pte_read(e, va >> 12, &e))
					return false;
				size = 1ULL << 12;
			}
		}
		/* Large-page entries keep PAT in bit 12; the frame is above it. */
		if ((e & PTE_ADDR & ~(size - 1)) != (va & ~(size - 1)))
			return false;
		va = (va & ~(size - 1)) + size;
	}
	return true;
}

/*
 * Bulk memory.  Under PVM guest-min runs roughly one instruction per
 * microsecond, so a string instruction that repeats itself (one exit-free
 * "instruction" per qword) is the cheapest way to touch many bytes.
 */

void gm_fill64(void *dst, uint64_t v, size_t qwords)
{
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(qwords) : "a"(v) : "memory");
}

void gm_copy64(void *dst, const void *src, size_t qwords)
{
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(qwords) : : "memory");
}

size_t gm_cmp64(const void *a, const void *b, size_t qwords)
{
	size_t left = qwords;
	bool equal;

	if (!qwords)
		return 0;
	__asm__ volatile("repe cmpsq"
			 : "+S"(a), "+D"(b), "+c"(left), "=@ccz"(equal)
			 : : "memory");
	/* RCX counts down past the differing qword too. */
	return equal ? qwords : qwords - left - 1;
}

uint64_t gm_sum64(const void *p, size_t qwords)
{
	const uint64_t *q = p;
	uint64_t s = 0;
	size_t blocks = qwords / 8;

	/* Eight memory-operand adds per turn: about 1.4 instructions a qword. */
	if (blocks)
		__asm__ volatile("1:\n\t"
				 "addq 0(%1), %0\n\t"
				 "addq 8(%1), %0\n\t"
				 "addq 16(%1), %0\n\t"
				 "addq 24(%1), %0\n\t"
				 "addq 32(%1), %0\n\t"
				 "addq 40(%1), %0\n\t"
				 "addq 48(%1), %0\n\t"
				 "addq 56(%1), %0\n\t"
				 "addq $64, %1\n\t"
				 "decq %2\n\t"
				 "jnz 1b"
				 : "+r"(s), "+r"(q), "+r"(blocks)
				 : : "memory", "cc");
	for (size_t i = 0; i < qwords % 8; i++)
		s += q[i];
	return s;
}
