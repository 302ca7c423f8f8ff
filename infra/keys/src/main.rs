//! `gigwire-keys`: makes and reads the access-token signing keys, and stores the other
//! secrets the functions read from SSM (Stripe's secret key and webhook secret).
//!
//! ```text
//! gigwire-keys create --parameter NAME --kid KID [--if-missing]
//! gigwire-keys public --parameter NAME
//! gigwire-keys secret --parameter NAME [--overwrite]      (the value on standard input)
//! ```
//!
//! `create` generates an Ed25519 key pair, stores the private key with its `kid` as the SSM
//! SecureString parameter `NAME` (CloudFormation cannot create SecureStrings, so this is the
//! operator's step before a deploy), and prints the public entry `kid:key` for the template's
//! `JwtPublicKeys`. It never overwrites a parameter: a new key gets a new name, so functions
//! still running with the old one keep working until the deploy that switches them.
//! `--if-missing` makes it idempotent (for the local stack): an existing key is left alone and
//! its public entry printed. `public` prints the public entry of a stored key. `secret` stores
//! the first line of standard input as the SecureString `NAME` (so the secret never appears in
//! a command line or shell history); `--overwrite` replaces an existing value (a rotation).
//!
//! It uses the SDK's standard environment (profile, region, `AWS_ENDPOINT_URL` for the local
//! emulator), and the private key never leaves SSM except through this process's memory.

use anyhow::{Context, bail};
use gigwire::adapters::SsmParameters;
use gigwire::auth::SigningKey;

const USAGE: &str = "usage: gigwire-keys create --parameter NAME --kid KID [--if-missing]\n       gigwire-keys public --parameter NAME\n       gigwire-keys secret --parameter NAME [--overwrite]   (value on stdin)";

struct Args {
    command: String,
    parameter: String,
    kid: Option<String>,
    if_missing: bool,
    overwrite: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let command = args.next().context(USAGE)?;
    let (mut parameter, mut kid, mut if_missing, mut overwrite) = (None, None, false, false);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--parameter" => parameter = Some(args.next().context("--parameter needs a value")?),
            "--kid" => kid = Some(args.next().context("--kid needs a value")?),
            "--if-missing" => if_missing = true,
            "--overwrite" => overwrite = true,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let parameter = parameter.context(USAGE)?;
    if !parameter.starts_with('/') {
        bail!("--parameter must be a path such as /gigwire/prod/jwt-signing-key/KID");
    }
    Ok(Args {
        command,
        parameter,
        kid,
        if_missing,
        overwrite,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse(std::env::args().skip(1))?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let ssm = SsmParameters::from_sdk(&sdk);
    if args.command == "secret" {
        let mut value = String::new();
        std::io::stdin()
            .read_line(&mut value)
            .context("reading the secret from standard input")?;
        let value = value.trim();
        if value.is_empty() {
            bail!("no secret on standard input");
        }
        ssm.put_secret(&args.parameter, value, args.overwrite)
            .await?;
        eprintln!("stored {}", args.parameter);
        return Ok(());
    }
    let key = match args.command.as_str() {
        "create" => {
            let kid = args.kid.context("create needs --kid")?;
            if args.if_missing && ssm.exists(&args.parameter).await? {
                let key = ssm.signing_key(&args.parameter).await?;
                if key.kid() != kid {
                    bail!("{} holds key {:?}, not {kid:?}", args.parameter, key.kid());
                }
                key
            } else {
                let key = SigningKey::generate(&kid)?;
                ssm.put_signing_key(&args.parameter, &key).await?;
                eprintln!("stored key {kid} in {}", args.parameter);
                key
            }
        }
        "public" => ssm.signing_key(&args.parameter).await?,
        other => bail!("unknown command {other:?}\n{USAGE}"),
    };
    println!("{}", key.public_entry());
    Ok(())
}
