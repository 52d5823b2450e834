/* regions.h: the AWS region table (src/config/regions.c). */
#ifndef TK_REGIONS_H
#define TK_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

/* Is name a known AWS region (any partition)? */
bool tk_region_known(const char *name);
/* Partition of a known region: "aws", "aws-cn" or "aws-us-gov"; NULL for
 * NULL or an unknown name. */
const char *tk_region_partition(const char *region);
/* The table in order: tk_region_name(i) for i < tk_region_count() (NULL
 * past the end). */
size_t tk_region_count(void);
const char *tk_region_name(size_t i);

#endif
