/* regions.c: the AWS region table: which regions exist and the partition
 * each belongs to (README "Configuration": regions, home_region).  A pure
 * table, no I/O; config.c checks region names with it. */
#include <stddef.h>
#include <string.h>

#include "regions.h"
#include "banned.h"

struct region {
	const char *name;
	const char *partition;
};

static const struct region regions_table[] = {
	{ "af-south-1", "aws" }, { "ap-east-1", "aws" }, { "ap-east-2", "aws" },
	{ "ap-northeast-1", "aws" }, { "ap-northeast-2", "aws" }, { "ap-northeast-3", "aws" },
	{ "ap-south-1", "aws" }, { "ap-south-2", "aws" },
	{ "ap-southeast-1", "aws" }, { "ap-southeast-2", "aws" }, { "ap-southeast-3", "aws" },
	{ "ap-southeast-4", "aws" }, { "ap-southeast-5", "aws" }, { "ap-southeast-7", "aws" },
	{ "ca-central-1", "aws" }, { "ca-west-1", "aws" },
	{ "eu-central-1", "aws" }, { "eu-central-2", "aws" }, { "eu-north-1", "aws" },
	{ "eu-south-1", "aws" }, { "eu-south-2", "aws" },
	{ "eu-west-1", "aws" }, { "eu-west-2", "aws" }, { "eu-west-3", "aws" },
	{ "il-central-1", "aws" }, { "me-central-1", "aws" }, { "me-south-1", "aws" },
	{ "mx-central-1", "aws" }, { "sa-east-1", "aws" },
	{ "us-east-1", "aws" }, { "us-east-2", "aws" }, { "us-west-1", "aws" }, { "us-west-2", "aws" },
	{ "cn-north-1", "aws-cn" }, { "cn-northwest-1", "aws-cn" },
	{ "us-gov-east-1", "aws-us-gov" }, { "us-gov-west-1", "aws-us-gov" },
};
#define NREGIONS (sizeof(regions_table) / sizeof(regions_table[0]))

bool tk_region_known(const char *name)
{
	return tk_region_partition(name) != NULL;
}

const char *tk_region_partition(const char *region)
{
	size_t i;

	if (!region)
		return NULL;
	for (i = 0; i < NREGIONS; i++)
		if (!strcmp(regions_table[i].name, region))
			return regions_table[i].partition;
	return NULL;
}

size_t tk_region_count(void)
{
	return NREGIONS;
}

const char *tk_region_name(size_t i)
{
	return i < NREGIONS ? regions_table[i].name : NULL;
}
