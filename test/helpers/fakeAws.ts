import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An email as SESv2 SendEmail received it. */
export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  charset: string | undefined;
}

/** An SMS as SNS Publish received it. */
export interface ReceivedSms {
  phoneNumber: string;
  message: string;
  /** MessageAttributes by name: their StringValue. */
  attributes: Record<string, string>;
}

/**
 * A stand-in for SESv2 and SNS at the HTTP boundary: the real AWS SDK v3
 * clients talk to it through AWS_ENDPOINT_URL_SESV2 and AWS_ENDPOINT_URL_SNS
 * (SendEmail as REST JSON, Publish as the query protocol with an XML answer),
 * so the adapters are tested with their real clients, serialisation included.
 */
export class FakeAws {
  emails: ReceivedEmail[] = [];
  sms: ReceivedSms[] = [];
  /** The next SES answers are this error (an SES error type such as MessageRejected). */
  sesError: string | undefined;
  /** The next SNS answers are this error (an SNS error code such as InvalidParameter). */
  snsError: string | undefined;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/v2/email/outbound-emails')) this.answerSes(body, res);
      else this.answerSns(body, res);
    });
  });

  /** Starts listening; the endpoint URL for the AWS_ENDPOINT_URL_* variables. */
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** The environment that points the SDK clients here, with dummy credentials. */
  static env(endpoint: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SESV2: endpoint,
      AWS_ENDPOINT_URL_SNS: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDFAKEFORTESTS',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-for-tests',
    };
  }

  private answerSes(body: string, res: http.ServerResponse) {
    if (this.sesError) {
      res.writeHead(400, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': this.sesError });
      res.end(JSON.stringify({ message: `${this.sesError} (fake)` }));
      return;
    }
    const input = JSON.parse(body) as {
      FromEmailAddress: string;
      Destination: { ToAddresses: string[] };
      Content: {
        Simple: {
          Subject: { Data: string };
          Body: { Text: { Data: string; Charset?: string } };
        };
      };
    };
    this.emails.push({
      from: input.FromEmailAddress,
      to: input.Destination.ToAddresses,
      subject: input.Content.Simple.Subject.Data,
      text: input.Content.Simple.Body.Text.Data,
      charset: input.Content.Simple.Body.Text.Charset,
    });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ MessageId: `fake-${this.emails.length}` }));
  }

  private answerSns(body: string, res: http.ServerResponse) {
    const form = new URLSearchParams(body);
    const xmlns = 'http://sns.amazonaws.com/doc/2010-03-31/';
    res.setHeader('Content-Type', 'text/xml');
    if (form.get('Action') !== 'Publish') {
      res.statusCode = 400;
      res.end(`<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>InvalidAction</Code>
        <Message>only Publish</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
      return;
    }
    if (this.snsError) {
      res.statusCode = 400;
      res.end(`<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>${this.snsError}</Code>
        <Message>${this.snsError} (fake)</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
      return;
    }
    const attributes: Record<string, string> = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i += 1) {
      attributes[form.get(`MessageAttributes.entry.${i}.Name`) as string] = form.get(
        `MessageAttributes.entry.${i}.Value.StringValue`,
      ) as string;
    }
    this.sms.push({
      phoneNumber: form.get('PhoneNumber') ?? '',
      message: form.get('Message') ?? '',
      attributes,
    });
    res.statusCode = 200;
    res.end(`<PublishResponse xmlns="${xmlns}"><PublishResult><MessageId>fake-${this.sms.length}</MessageId>
      </PublishResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></PublishResponse>`);
  }
}
