import type http from 'node:http';
import { FAKE_AWS_CREDENTIALS, LocalAwsEndpoint } from './localAwsEndpoint';

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
export class FakeAws extends LocalAwsEndpoint {
  emails: ReceivedEmail[] = [];
  sms: ReceivedSms[] = [];
  /** The next SES answers are this error (an SES error type such as MessageRejected). */
  sesError: string | undefined;
  /** The next SNS answers are this error (an SNS error code such as InvalidParameter). */
  snsError: string | undefined;
  protected answer(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    if (req.url?.startsWith('/v2/email/outbound-emails')) this.answerSes(body, res);
    else this.answerSns(body, res);
  }

  /** The environment that points the SDK clients here, with dummy credentials. */
  static env(endpoint: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SESV2: endpoint,
      AWS_ENDPOINT_URL_SNS: endpoint,
      ...FAKE_AWS_CREDENTIALS,
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
