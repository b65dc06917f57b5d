#include "serial.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"
#include "../vcpu/ioapic.h"

/* A line with nothing on it still looks connected, so getty-style code does not wait. */
#define MSR_IDLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *ctx, bool level),
		 void *irq_ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->msr = MSR_IDLE;
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_ctx = irq_ctx;
	s->in_fd = -1;
	s->rx_wake_fd = -1;
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? UART_IIR_FIFO_ENABLED : 0;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thre_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

/* Called with the lock held after every state change: the IRQ line follows IIR. */
static void serial_update_irq(struct serial *s)
{
	bool high = !(serial_iir(s) & UART_IIR_NO_INT);
	if (high != s->irq_high) {
		s->irq_high = high;
		if (s->set_irq)
			s->set_irq(s->irq_ctx, high);
	}
}

static size_t serial_rx_push_locked(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t i;
	for (i = 0; i < n && s->rx_count < SERIAL_FIFO_SIZE; i++) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = buf[i];
		s->rx_count++;
	}
	return i;
}

size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&s->lock);
	size_t done = serial_rx_push_locked(s, buf, n);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return done;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	if (!s->rx_count)
		return 0;
	METRIC_INC(metrics.uart.read_count);
	uint8_t c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	if (s->rx_count == 0 && s->rx_wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(s->rx_wake_fd, &one, sizeof(one));
		(void)w; /* an eventfd write only fails when the counter is already huge */
	}
	return c;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP) {
		if (serial_rx_push_locked(s, &c, 1) == 0) {
			s->overrun = true;
			METRIC_INC(metrics.uart.missed_write_count);
		}
		return;
	}
	ssize_t n;
	while ((n = write(s->out_fd, &c, 1)) < 0 && errno == EINTR)
		;
	/* A byte the output refused is lost: counted, not logged (the guest may flood). */
	if (n == 1)
		METRIC_INC(metrics.uart.write_count);
	else
		METRIC_INC(metrics.uart.error_count);
}

static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & UART_MCR_LOOP))
		return s->msr;
	/* Loopback wires the modem outputs back to the inputs; Linux probes for this. */
	uint8_t m = s->mcr;
	return (uint8_t)(((m & 0x01) << 5) | ((m & 0x02) << 3) | ((m & 0x04) << 4) |
			 ((m & 0x08) << 4));
}

static uint8_t serial_read(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_RBR:
		return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR: {
		uint8_t iir = serial_iir(s);
		if ((iir & 0x0f) == UART_IIR_THRI)
			s->thre_pending = false; /* reading IIR acknowledges THR-empty */
		return iir;
	}
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR: {
		uint8_t lsr = UART_LSR_THRE | UART_LSR_TEMT;
		if (s->rx_count)
			lsr |= UART_LSR_DR;
		if (s->overrun)
			lsr |= UART_LSR_OE;
		s->overrun = false;
		return lsr;
	}
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write(struct serial *s, unsigned off, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_THR:
		if (dlab) {
			s->dll = v;
		} else {
			serial_transmit(s, v);
			s->thre_pending = true;
		}
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THR-empty while THR is empty raises it at once, as a 16550 does. */
			if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
				s->thre_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_FCR:
		s->fcr = v & (UART_FCR_ENABLE_FIFO | 0xc0);
		if (v & UART_FCR_CLEAR_RCVR)
			s->rx_head = s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only */
	default:
		s->scr = v;
	}
}

void serial_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	/* Wider accesses touch consecutive registers, as on the ISA bus. */
	for (uint32_t i = 0; i < size && offset + i < 8; i++) {
		if (is_write)
			serial_write(s, (unsigned)(offset + i), data[i]);
		else
			data[i] = serial_read(s, (unsigned)(offset + i));
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* --- wiring: COM1 on the VM, stdin through the event thread --- */

static void serial_irq_to_ioapic(void *ctx, bool level)
{
	ioapic_set_irq(ctx, SERIAL_COM1_IRQ, level);
}

static void serial_pause_input(struct serial *s, bool pause)
{
	if (pause == s->in_paused)
		return;
	s->in_paused = pause;
	if (pause)
		event_loop_del(s->loop, s->in_fd);
	else
		event_loop_add(s->loop, s->in_fd, EPOLLIN, &s->in_handler);
}

static void serial_on_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[SERIAL_FIFO_SIZE];

	pthread_mutex_lock(&s->lock);
	size_t space = SERIAL_FIFO_SIZE - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	if (space == 0) {
		serial_pause_input(s, true);
		return;
	}
	ssize_t n = read(s->in_fd, buf, space);
	if (n > 0) {
		serial_rx_push(s, buf, (size_t)n); /* only this thread adds: it all fits */
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0)
		METRIC_INC(metrics.uart.error_count);
	if (events & (EPOLLHUP | EPOLLERR) || n == 0) {
		event_loop_del(s->loop, s->in_fd); /* end of input: the guest just sees silence */
		s->in_fd = -1;
	}
}

static void serial_on_rx_drained(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint64_t v;
	(void)events;
	if (read(s->rx_wake_fd, &v, sizeof(v)) == sizeof(v) && s->in_fd >= 0)
		serial_pause_input(s, false);
}

static bool fd_is_tty_or_pipe(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return isatty(fd) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

/*
 * A terminal goes raw: every key, Ctrl-C included, goes to the guest's console, as on a
 * real serial line. The guest's own line discipline echoes and edits.
 */
static void serial_tty_raw(struct serial *s, int fd)
{
	if (!isatty(fd) || tcgetattr(fd, &s->tty_saved) < 0)
		return;
	struct termios raw = s->tty_saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	s->tty_raw = tcsetattr(fd, TCSANOW, &raw) == 0;
}

void serial_destroy(struct serial *s)
{
	if (s->tty_raw)
		tcsetattr(s->in_fd >= 0 ? s->in_fd : STDIN_FILENO, TCSANOW, &s->tty_saved);
	s->tty_raw = false;
	/* stdin stays open: the loop, which outlives the VM, must stop watching it. */
	if (s->in_fd >= 0 && s->loop)
		event_loop_del(s->loop, s->in_fd);
	s->in_fd = -1;
	if (s->rx_wake_fd >= 0)
		close(s->rx_wake_fd);
	s->rx_wake_fd = -1;
}

int serial_create(struct serial *s, const struct vm_host *h, int in_fd, int out_fd,
		  struct errbuf *e)
{
	serial_init(s, out_fd, serial_irq_to_ioapic, h->ioapic);
	if (bus_register(h->pio, SERIAL_COM1_BASE, 8, serial_pio, s, "serial", e) < 0)
		return -1;
	if (!fd_is_tty_or_pipe(in_fd))
		return 0;

	s->loop = h->loop;
	s->in_fd = in_fd;
	s->in_handler = (struct event_handler){ serial_on_input, s };
	s->wake_handler = (struct event_handler){ serial_on_rx_drained, s };
	s->rx_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->rx_wake_fd < 0)
		return errf(e, "serial: eventfd: %s", strerror(errno));
	if (event_loop_add(s->loop, s->rx_wake_fd, EPOLLIN, &s->wake_handler) < 0 ||
	    event_loop_add(s->loop, in_fd, EPOLLIN, &s->in_handler) < 0)
		return errf(e, "serial: cannot watch stdin: %s", strerror(errno));
	serial_tty_raw(s, in_fd);
	return 0;
}

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	*st = (struct serial_state){
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .msr = s->msr, .scr = s->scr,
		.dll = s->dll, .dlm = s->dlm, .fcr = s->fcr, .overrun = s->overrun,
		.thre_pending = s->thre_pending, .irq_high = s->irq_high,
		.rx_head = s->rx_head, .rx_count = s->rx_count,
	};
	memcpy(st->rx, s->rx, sizeof(st->rx));
	pthread_mutex_unlock(&s->lock);
}

int serial_restore(struct serial *s, const struct serial_state *st, struct errbuf *e)
{
	if (st->rx_head >= SERIAL_FIFO_SIZE || st->rx_count > SERIAL_FIFO_SIZE)
		return errf(e, "snapshot: serial receive FIFO at %u with %u bytes (at most %u)",
			    st->rx_head, st->rx_count, SERIAL_FIFO_SIZE);
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier, s->lcr = st->lcr, s->mcr = st->mcr, s->msr = st->msr;
	s->scr = st->scr, s->dll = st->dll, s->dlm = st->dlm, s->fcr = st->fcr;
	s->overrun = st->overrun, s->thre_pending = st->thre_pending;
	s->irq_high = st->irq_high;
	s->rx_head = st->rx_head, s->rx_count = st->rx_count;
	memcpy(s->rx, st->rx, sizeof(s->rx));
	pthread_mutex_unlock(&s->lock);
	return 0;
}
