#ifndef EMBER_REGS_H
#define EMBER_REGS_H

#include <stdint.h>

#include "../lib/error.h"
#include "vcpu.h"

/* regs.c: MSRs, FPU, LAPIC LVTs and the entry state of each boot protocol */
int vcpu_setup_msrs(struct vcpu *vcpu, struct errbuf *e);
int vcpu_setup_lapic(struct vcpu *vcpu, struct errbuf *e);
int vcpu_setup_fpu(struct vcpu *vcpu, struct errbuf *e);
int vcpu_enter_long_mode(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params,
			 struct errbuf *e);
int vcpu_enter_pvh(struct vcpu *vcpu, uint64_t entry, uint64_t start_info, struct errbuf *e);

#endif
