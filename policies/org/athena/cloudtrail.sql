-- CloudTrail logs of acme-org-cloudtrail, written by trailkeep plan (README "Athena").
-- Partition projection over account, region and day: no MSCK REPAIR TABLE, ever.
-- Layout: s3://acme-org-cloudtrail/AWSLogs/o-a1b2c3d4e5/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_acme_org_cloudtrail (
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
COMMENT 'CloudTrail logs in s3://acme-org-cloudtrail/AWSLogs/ (trailkeep)'
PARTITIONED BY (account STRING, region STRING, day STRING)
ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://acme-org-cloudtrail/AWSLogs/o-a1b2c3d4e5/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account.type' = 'enum',
  'projection.account.values' = '111111111111,222222222222,333333333333,444444444444',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1,eu-west-1,ap-southeast-2',
  'projection.day.type' = 'date',
  'projection.day.format' = 'yyyy/MM/dd',
  'projection.day.range' = '2020/01/01,NOW',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://acme-org-cloudtrail/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${day}'
);

-- Ready queries (replace the day range as needed).

-- Who changed the log bucket's policy
SELECT eventtime, useridentity.arn AS who, sourceipaddress, eventname, account, region
FROM cloudtrail_acme_org_cloudtrail
WHERE eventsource = 's3.amazonaws.com'
  AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy')
  AND json_extract_scalar(requestparameters, '$.bucketName') = 'acme-org-cloudtrail'
  AND day >= '2020/01/01'
ORDER BY eventtime DESC
LIMIT 100;

-- Who stopped or deleted a trail
SELECT eventtime, useridentity.arn AS who, eventname, json_extract_scalar(requestparameters, '$.name') AS trail,
       account, region
FROM cloudtrail_acme_org_cloudtrail
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
  AND day >= '2020/01/01'
ORDER BY eventtime DESC
LIMIT 100;

-- Denied calls by principal
SELECT useridentity.arn AS principal, errorcode, count(*) AS calls, min(eventtime) AS first, max(eventtime) AS last
FROM cloudtrail_acme_org_cloudtrail
WHERE (errorcode LIKE '%UnauthorizedOperation' OR errorcode LIKE 'AccessDenied%')
  AND day >= '2020/01/01'
GROUP BY useridentity.arn, errorcode
ORDER BY calls DESC
LIMIT 100;
