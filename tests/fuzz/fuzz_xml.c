/* fuzz_xml.c: the XML parser and the AWS error parser on arbitrary input
 * (every protocol), plus the typed readers used on S3 list results. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "awserr.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml_doc d;
	struct errbuf err;
	struct aws_error e;
	char msg[ERRBUF_LEN];
	const struct xml_node *c;
	unsigned long long v;

	if (xml_parse(&d, (const char *)data, size, &err) == 0) {
		for (c = xml_child(d.root, "Contents"); c; c = xml_next(c)) {
			(void)xml_path_text(c, "Key");
			(void)xml_path_u64(c, "Size", &v);
		}
		(void)xml_path_bool(d.root, "IsTruncated");
		(void)xml_path_text(d.root, "Error/Code");
		xml_doc_release(&d);
	}
	memset(&e, 0, sizeof(e));
	aws_error_parse(&e, AWS_PROTO_RESTXML, 403, (const char *)data, size, NULL, NULL);
	aws_error_set_context(&e, "s3", "GetObject", "b/k");
	aws_error_format(&e, msg, sizeof(msg));
	(void)aws_error_tk(&e);
	(void)aws_error_retryable(&e);
	aws_error_parse(&e, AWS_PROTO_JSON, 400, (const char *)data, size, NULL, NULL);
	aws_error_format(&e, msg, sizeof(msg));
	aws_error_parse(&e, AWS_PROTO_QUERY, 500, (const char *)data, size, NULL, NULL);
	aws_error_format(&e, msg, sizeof(msg));
	aws_error_release(&e);
	return 0;
}
