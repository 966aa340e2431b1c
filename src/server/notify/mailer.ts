/** E-mail over SMTP with nodemailer (`SEATKEEPER_SMTP_URL`, e.g. smtp://user:pass@host:587). */
import nodemailer from 'nodemailer';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

export interface Mailer {
  send(m: Mail): Promise<void>;
  close(): void;
}

export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(m) {
      await transport.sendMail({ from, to: m.to.join(', '), subject: m.subject, text: m.text });
    },
    close() {
      transport.close();
    },
  };
}
