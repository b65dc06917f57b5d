/*
 * The API's router: (method, path, body) -> a change of the configuration or an action
 * on the VM, answered as Firecracker answers. It runs on the VMM thread (the server
 * hands it each request in turn) and reaches the VM only through the ops table, so it
 * can be tested and fuzzed without one.
 */
#ifndef EMBER_ROUTER_H
#define EMBER_ROUTER_H

#include <stdbool.h>

#include "../config/config.h"
#include "../config/config_json.h"
#include "server.h"

enum vmm_state { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };

/* What the router asks of the monitor. Each returns 0, or -1 with e saying why. */
struct api_vmm_ops {
	enum vmm_state (*state)(void *vmm);
	int (*instance_start)(void *vmm, struct errbuf *e);
	int (*pause)(void *vmm, struct errbuf *e);
	int (*resume)(void *vmm, struct errbuf *e);
	int (*ctrl_alt_del)(void *vmm, struct errbuf *e);
	int (*flush_metrics)(void *vmm, struct errbuf *e);
	int (*update_drive)(void *vmm, const char *id, const struct drive_update *u,
			    struct errbuf *e);
	int (*update_net)(void *vmm, const char *id, const struct net_update *u,
			  struct errbuf *e);
	/* Opens what the new logger or metrics configuration names and starts using it. */
	int (*start_logger)(void *vmm, const struct logger_config *l, struct errbuf *e);
	int (*start_metrics)(void *vmm, const char *path, bool emit_id, const char *properties,
			     struct errbuf *e);
	/* PUT /snapshot/create (the VM is paused) and /snapshot/load (nothing configured). */
	int (*snapshot_create)(void *vmm, const struct snapshot_create_request *r,
			       struct errbuf *e);
	int (*snapshot_load)(void *vmm, const struct snapshot_load_request *r, struct errbuf *e);
};

struct api_router {
	struct vm_config *cfg;
	const struct api_vmm_ops *ops;
	void *vmm;
	bool logger_set, metrics_set; /* each may be configured once */
	bool configured;              /* a pre-boot PUT or PATCH changed the configuration */
};

/* An api_handler_fn: ctx is a struct api_router. */
void api_route(void *ctx, const struct api_request *req, struct api_response *resp);

#endif
