"""An S3 server that verifies signatures, for the S3 client's signing tests.

moto normally accepts any request. With INITIAL_NO_AUTH_ACTION_COUNT set it checks, after
that many actions, that each request carries a valid AWS Signature V4 of a known access key
(recomputed with botocore, independently of libcurl) and that the key's IAM policy allows
the action. This script starts moto's S3 + IAM + STS on 127.0.0.1, uses its first actions
to create an IAM user with an allow-all policy, an access key, a bucket and temporary
(session-token) credentials, then prints one line:

  READY <port> <bucket> <key id> <secret> <temp key id> <temp secret> <session token>

and serves until killed. Usage: python s3_auth_server.py (the project venv's python).
"""

import json
import os
import socket
import sys
import time

SETUP_ACTIONS = 5  # create_user, put_user_policy, create_access_key, create_bucket, get_session_token
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_ACTIONS - 1)

import botocore.session  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    session = botocore.session.get_session()

    def client(service, key="setup", secret="setup", token=None):
        return session.create_client(service, endpoint_url=url, region_name="us-east-1",
                                     aws_access_key_id=key, aws_secret_access_key=secret,
                                     aws_session_token=token)

    iam = client("iam")
    iam.create_user(UserName="pgqrs")
    iam.put_user_policy(UserName="pgqrs", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="pgqrs")["AccessKey"]
    kid, secret = key["AccessKeyId"], key["SecretAccessKey"]
    bucket = "pgqrs-signed"
    client("s3", kid, secret).create_bucket(Bucket=bucket)
    creds = client("sts", kid, secret).get_session_token()["Credentials"]
    print("READY", port, bucket, kid, secret, creds["AccessKeyId"], creds["SecretAccessKey"],
          creds["SessionToken"], flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
