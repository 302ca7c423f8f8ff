//! Email rendering with minijinja from the templates in `shared/templates/email/`, compiled
//! into the binary (a Lambda has no repository to read). One branded layout; each email is an
//! HTML and a plain-text template. `cargo run -p gigwire --example render_emails` renders every
//! template with sample data for review.

use minijinja::{Environment, context};
use serde::Serialize;

use crate::adapters::OutgoingEmail;
use crate::domain::Email;
use crate::error::{Error, Result};

/// The product name shown in emails.
pub const BRAND: &str = "gigwire";

const FILES: [(&str, &str); 5] = [
    (
        "layout.html",
        include_str!("../templates/email/layout.html"),
    ),
    (
        "notification.html",
        include_str!("../templates/email/notification.html"),
    ),
    (
        "notification.txt",
        include_str!("../templates/email/notification.txt"),
    ),
    (
        "sign_in.html",
        include_str!("../templates/email/sign_in.html"),
    ),
    (
        "sign_in.txt",
        include_str!("../templates/email/sign_in.txt"),
    ),
];

/// The compiled templates, built once per cold start.
pub struct EmailTemplates {
    env: Environment<'static>,
}

impl Default for EmailTemplates {
    fn default() -> Self {
        Self::new()
    }
}

/// What a notification email says.
#[derive(Debug, Serialize)]
pub struct NotificationEmail<'a> {
    /// Subject and heading.
    pub title: &'a str,
    /// Paragraphs.
    pub lines: Vec<String>,
    /// Where the button leads (the app), if anywhere.
    pub link: Option<String>,
}

impl EmailTemplates {
    /// Compiles the templates; a template that does not parse is a build bug caught by tests.
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in FILES {
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "email template does not parse");
            }
        }
        Self { env }
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(Error::unexpected)
    }

    /// The sign-in code email.
    pub fn sign_in(&self, to: &Email, code: &str, minutes: i64) -> Result<OutgoingEmail> {
        let subject = format!("Your {BRAND} sign-in code: {code}");
        let ctx =
            context! { brand => BRAND, subject => &subject, code => code, minutes => minutes };
        Ok(OutgoingEmail {
            to: to.clone(),
            html: self.render("sign_in.html", ctx.clone())?,
            text: self.render("sign_in.txt", ctx)?,
            subject,
        })
    }

    /// A notification (or digest) email.
    pub fn notification(&self, to: &Email, email: &NotificationEmail<'_>) -> Result<OutgoingEmail> {
        let ctx = context! {
            brand => BRAND,
            subject => email.title,
            title => email.title,
            lines => &email.lines,
            link => &email.link,
        };
        Ok(OutgoingEmail {
            to: to.clone(),
            subject: email.title.to_owned(),
            html: self.render("notification.html", ctx.clone())?,
            text: self.render("notification.txt", ctx)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_escapes_html() {
        let templates = EmailTemplates::new();
        let to = Email::parse("ana@example.com", "email").unwrap();
        let code = templates.sign_in(&to, "123456", 10).unwrap();
        assert!(code.subject.ends_with("123456"));
        assert!(code.html.contains("123456") && code.text.contains("10 minutes"));
        assert!(code.html.contains(BRAND));
        let note = templates
            .notification(
                &to,
                &NotificationEmail {
                    title: "3 new messages from Ana in 'Kitchen repair'",
                    lines: vec!["<script>alert(1)</script>".into()],
                    link: Some("https://app.example/rooms/1".into()),
                },
            )
            .unwrap();
        assert!(note.html.contains("&lt;script&gt;"), "HTML is escaped");
        assert!(note.text.contains("<script>"), "text is not");
        // Auto-escaping writes `/` as `&#x2f;` in HTML, which browsers decode in attributes.
        assert!(
            note.html
                .contains("href=\"https:&#x2f;&#x2f;app.example&#x2f;rooms&#x2f;1\"")
        );
        assert!(note.text.contains("https://app.example/rooms/1"));
    }
}
