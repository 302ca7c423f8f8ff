//! Renders every email template with sample data into `target/email-preview/` for review:
//! `cargo run -p gigwire --example render_emails`, then open the `.html` files in a browser.

use std::path::PathBuf;

use gigwire::domain::Email;
use gigwire::notifications::model::{Kind, render_text, spec};
use gigwire::templates::{EmailTemplates, NotificationEmail};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root
        .parent()
        .unwrap_or(&root)
        .join("target")
        .join("email-preview");
    std::fs::create_dir_all(&out)?;
    let templates = EmailTemplates::new();
    let to = Email::parse("ana@example.com", "email")?;
    let mut written = Vec::new();
    let mut save = |name: &str, html: &str, text: &str| -> std::io::Result<()> {
        std::fs::write(out.join(format!("{name}.html")), html)?;
        std::fs::write(out.join(format!("{name}.txt")), text)?;
        written.push(name.to_owned());
        Ok(())
    };
    let code = templates.sign_in(&to, "482913", 10)?;
    save("sign_in", &code.html, &code.text)?;
    let data = serde_json::json!({
        "actor": "Bruno Costa", "room": "Kitchen repair", "preview": "I can come Tuesday at 10.",
        "title": "Fix the kitchen sink", "when": "Tuesday 10:00", "amount": "€120.00", "count": 3,
    });
    for kind in Kind::ALL {
        let spec = spec(kind);
        let title = render_text(spec.title, &data);
        let single = templates.notification(
            &to,
            &NotificationEmail {
                title: &title,
                lines: vec![render_text(spec.body, &data)],
                link: Some("https://app.example.com/notifications".into()),
            },
        )?;
        save(kind.as_str(), &single.html, &single.text)?;
        let digest_title = render_text(spec.digest, &data);
        let digest = templates.notification(
            &to,
            &NotificationEmail {
                title: &digest_title,
                lines: (0..3).map(|i| format!("{title}: message {i}")).collect(),
                link: Some("https://app.example.com/notifications".into()),
            },
        )?;
        save(
            &format!("{}_digest", kind.as_str()),
            &digest.html,
            &digest.text,
        )?;
    }
    println!("{} emails written to {}", written.len(), out.display());
    Ok(())
}
