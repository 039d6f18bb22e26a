/* routes_sched.h: the handlers of the scheduling routes (routes_sched.c), for the route table. */
#ifndef GPUCTL_API_ROUTES_SCHED_H
#define GPUCTL_API_ROUTES_SCHED_H

#include "api/http.h"

void post_allocate(struct request *rq, struct reply *rp);
void post_validate(struct request *rq, struct reply *rp);
void post_release(struct request *rq, struct reply *rp);
void get_allocations(struct request *rq, struct reply *rp);
void get_allocation(struct request *rq, struct reply *rp);
void delete_allocation(struct request *rq, struct reply *rp);
void post_setup_pytorch(struct request *rq, struct reply *rp);
void post_setup_tensorflow(struct request *rq, struct reply *rp);
void get_resources_v2(struct request *rq, struct reply *rp);
void post_resources_config(struct request *rq, struct reply *rp);
void get_tasks(struct request *rq, struct reply *rp);
void post_tasks(struct request *rq, struct reply *rp);
void post_training_start(struct request *rq, struct reply *rp);
void post_inference_start(struct request *rq, struct reply *rp);
void get_task(struct request *rq, struct reply *rp);
void post_task_cancel(struct request *rq, struct reply *rp);

#endif
