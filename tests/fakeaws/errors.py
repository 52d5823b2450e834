"""AwsError: the one exception every handler raises for an AWS-shaped error.

The server turns it into the envelope of the protocol that was called:
  S3 (rest-xml):   <Error><Code/><Message/>...extra...<RequestId/><HostId/></Error>
  JSON 1.1:        {"__type": code, "message": msg}   (CloudTrail: "Message")
  query (STS):     <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
"""


class AwsError(Exception):
    def __init__(self, code, message="", status=400, *, sender=True, extra=None,
                 headers=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code              # wire code (__type / <Code>)
        self.message = message
        self.status = int(status)
        self.sender = sender          # query <Type>Sender</Type> vs Receiver
        self.extra = dict(extra or {})  # extra S3 <Error> children / JSON members
        self.headers = dict(headers or {})  # extra response headers


class ConnectionReset(Exception):
    """Raised by fault injection: the server closes the socket without a response."""


# --- common shorthands -------------------------------------------------------

def access_denied_s3(msg="Access Denied"):
    return AwsError("AccessDenied", msg, 403)


def access_denied_json(msg):
    return AwsError("AccessDeniedException", msg, 400)


def validation(msg):
    return AwsError("ValidationException", msg, 400)
