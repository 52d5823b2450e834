-- S3 server access logs of acme-org-cloudtrail, delivered to s3://acme-org-cloudtrail-access-logs/acme-org-cloudtrail/
-- (trailkeep plan, README "Athena").  Not partitioned: the simple key format S3 writes
-- (TargetPrefix + YYYY-mm-DD-HH-MM-SS-ID) has no folder per day to project, so no
-- MSCK REPAIR TABLE is needed either (filter on requestdatetime).
CREATE EXTERNAL TABLE IF NOT EXISTS s3_access_logs_acme_org_cloudtrail (
  bucketowner STRING,
  bucket_name STRING,
  requestdatetime STRING,
  remoteip STRING,
  requester STRING,
  requestid STRING,
  operation STRING,
  key STRING,
  request_uri STRING,
  httpstatus STRING,
  errorcode STRING,
  bytessent BIGINT,
  objectsize BIGINT,
  totaltime STRING,
  turnaroundtime STRING,
  referrer STRING,
  useragent STRING,
  versionid STRING,
  hostid STRING,
  sigv STRING,
  ciphersuite STRING,
  authtype STRING,
  endpoint STRING,
  tlsversion STRING,
  accesspointarn STRING,
  aclrequired STRING
)
COMMENT 'S3 server access logs of acme-org-cloudtrail (trailkeep)'
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'input.regex' = '([^ ]*) ([^ ]*) \\[(.*?)\\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) (\"[^\"]*\"|-) (-|[0-9]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) (\"[^\"]*\"|-) ([^ ]*)(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://acme-org-cloudtrail-access-logs/acme-org-cloudtrail/';

-- Ready queries.

-- Deletions and policy changes on the log bucket, by requester
SELECT requestdatetime, requester, operation, key, httpstatus
FROM s3_access_logs_acme_org_cloudtrail
WHERE operation IN ('REST.DELETE.OBJECT', 'REST.PUT.BUCKETPOLICY', 'REST.DELETE.BUCKETPOLICY',
                    'REST.PUT.LIFECYCLE', 'REST.PUT.VERSIONING')
ORDER BY requestdatetime DESC
LIMIT 100;

-- Refused requests by requester
SELECT requester, httpstatus, errorcode, count(*) AS requests
FROM s3_access_logs_acme_org_cloudtrail
WHERE httpstatus IN ('403', '401')
GROUP BY requester, httpstatus, errorcode
ORDER BY requests DESC
LIMIT 100;
