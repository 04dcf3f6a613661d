// pgqrs: a library-only durable execution engine and job queue. Include this for everything.
#pragma once

#include "pgqrs/admin.h"
#include "pgqrs/clock.h"
#include "pgqrs/config.h"
#include "pgqrs/dequeue.h"
#include "pgqrs/enqueue.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres.h"
#include "pgqrs/records.h"
#include "pgqrs/s3.h"
#include "pgqrs/store.h"
#include "pgqrs/tracing.h"
#include "pgqrs/version.h"
#include "pgqrs/worker.h"
#include "pgqrs/workflow.h"
