/* workers.c: see workers.h. */
#include <pthread.h>

#include "workers.h"
#include "banned.h"

void tk_run_workers(int n, void *(*fn)(void *), void *arg)
{
	pthread_t th[TK_MAX_WORKERS];
	int nth, k;

	if (n < 1)
		n = 1;
	if (n > TK_MAX_WORKERS)
		n = TK_MAX_WORKERS;
	for (nth = 0; nth < n; nth++)
		if (pthread_create(&th[nth], NULL, fn, arg))
			break;
	if (nth == 0)
		fn(arg);        /* no thread at all: the work on this thread */
	for (k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
}
