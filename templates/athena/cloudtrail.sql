-- CloudTrail logs of ${bucket}, written by trailkeep plan (README "Athena").
-- Partition projection over account, region and day: no MSCK REPAIR TABLE, ever.
-- Layout: s3://${bucket}/${key_prefix}AWSLogs/${org_path}ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
CREATE EXTERNAL TABLE IF NOT EXISTS ${athena_table} (
  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    sessioncontext: STRUCT<
      attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
      sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: MAP<STRING, STRING>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  eventcategory STRING,
  tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
)
COMMENT 'CloudTrail logs in s3://${bucket}/${key_prefix}AWSLogs/ (trailkeep)'
PARTITIONED BY (account STRING, region STRING, day STRING)
ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${bucket}/${key_prefix}AWSLogs/${org_path}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account.type' = 'enum',
  'projection.account.values' = '${athena_accounts}',
  'projection.region.type' = 'enum',
  'projection.region.values' = '${athena_regions}',
  'projection.day.type' = 'date',
  'projection.day.format' = 'yyyy/MM/dd',
  'projection.day.range' = '${athena_start},NOW',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${bucket}/${key_prefix}AWSLogs/${org_path}$${account}/CloudTrail/$${region}/$${day}'
);

-- Ready queries (replace the day range as needed).

-- Who changed the log bucket's policy
SELECT eventtime, useridentity.arn AS who, sourceipaddress, eventname, account, region
FROM ${athena_table}
WHERE eventsource = 's3.amazonaws.com'
  AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy')
  AND json_extract_scalar(requestparameters, '$.bucketName') = '${bucket}'
  AND day >= '${athena_start}'
ORDER BY eventtime DESC
LIMIT 100;

-- Who stopped or deleted a trail
SELECT eventtime, useridentity.arn AS who, eventname, json_extract_scalar(requestparameters, '$.name') AS trail,
       account, region
FROM ${athena_table}
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
  AND day >= '${athena_start}'
ORDER BY eventtime DESC
LIMIT 100;

-- Denied calls by principal
SELECT useridentity.arn AS principal, errorcode, count(*) AS calls, min(eventtime) AS first, max(eventtime) AS last
FROM ${athena_table}
WHERE (errorcode LIKE '%UnauthorizedOperation' OR errorcode LIKE 'AccessDenied%')
  AND day >= '${athena_start}'
GROUP BY useridentity.arn, errorcode
ORDER BY calls DESC
LIMIT 100;
