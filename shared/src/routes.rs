//! Every Lambda function is declared once, in its feature's `routes` module: its name, what
//! triggers it (HTTP route, WebSocket route, schedule, the table's stream, an authorizer),
//! who may call it, the AWS permissions it needs and how it runs. From those declarations:
//! - the feature's binary picks the function its Lambda was deployed for ([`run`], reading
//!   `GIGWIRE_FUNCTION`, which the template sets);
//! - [`template`] writes the template's per-function wiring (Function, Integration, Route,
//!   execution and invoke roles) between markers in `template.yaml`;
//! - the OpenAPI document takes each operation's security from here, and a test checks that
//!   it describes exactly the declared HTTP routes.
//!
//! Hand-written infrastructure (table, bucket, APIs, authorizer resources) stays hand-written.
//! A test fails when the committed template differs from what the declarations generate;
//! `UPDATE_GENERATED=1 cargo test --workspace --lib generated` rewrites it and the OpenAPI.

use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;

use crate::lambda::BoxError;

/// How a function runs: build its dependencies once, then serve events until the runtime stops.
/// It gets its own declaration (an HTTP function serves with the declared access).
pub type Runner = fn(&'static Function) -> Pin<Box<dyn Future<Output = Result<(), BoxError>>>>;

/// Who may call an HTTP route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, emailed links).
    Public,
    /// A valid access token.
    Bearer,
    /// A valid access token with the `admin` role (others get 403 from the service).
    Admin,
}

/// What invokes a function.
#[derive(Clone, Copy, Debug)]
pub enum Trigger {
    /// HTTP API routes (method, path), all with the same access.
    Http(&'static [(&'static str, &'static str)], Access),
    /// The HTTP API's `$default` route: whatever no declared route matches.
    HttpDefault,
    /// A WebSocket API route; `$connect` runs the WebSocket authorizer first.
    Ws(&'static str),
    /// A schedule (event name, expression).
    Schedule(&'static str, &'static str),
    /// The table's stream, filtered to the writes of one `entity_type`.
    Stream(Stream),
    /// An API authorizer (its authorizer resource and permission are hand-written).
    Authorizer,
}

/// Which of the table's stream records a consumer gets: the new images of one `entity_type`,
/// as inserted (or also as changed), optionally only those with one attribute's value. The
/// template filters at the source; the runner filters again, so a record the source let
/// through by mistake is skipped, not handled.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    /// The items' `entity_type`.
    pub entity: &'static str,
    /// Also their changes (`MODIFY`), not only their insertion.
    pub changes: bool,
    /// Only items whose attribute (name) holds this string value.
    pub only: Option<(&'static str, &'static str)>,
}

impl Stream {
    /// Insertions of `entity` items.
    pub const fn inserted(entity: &'static str) -> Self {
        Self {
            entity,
            changes: false,
            only: None,
        }
    }

    /// Insertions and changes of `entity` items.
    pub const fn written(entity: &'static str) -> Self {
        Self {
            entity,
            changes: true,
            only: None,
        }
    }

    /// Only the items whose `attribute` holds `value`.
    pub const fn only(self, attribute: &'static str, value: &'static str) -> Self {
        Self {
            only: Some((attribute, value)),
            ..self
        }
    }

    /// The stream record names it takes.
    pub fn events(&self) -> &'static [&'static str] {
        if self.changes {
            &["INSERT", "MODIFY"]
        } else {
            &["INSERT"]
        }
    }
}

/// A permission a function's role gets. Everything is scoped to this stack's resources.
#[derive(Clone, Copy, Debug)]
pub enum Allow {
    /// DynamoDB item actions on the table (e.g. `GetItem`); `Query` here is on the base table.
    Table(&'static [&'static str]),
    /// `Query` on the table's indexes.
    Indexes,
    /// Reading the table's stream.
    ReadStream,
    /// S3 actions (e.g. `GetObject`) on objects under the given key prefixes.
    Objects(&'static [&'static str], &'static [&'static str]),
    /// Posting to WebSocket connections (`@connections` POST).
    PostToConnections,
    /// Closing WebSocket connections (`@connections` DELETE).
    CloseConnections,
    /// `ses:SendEmail`. SendEmail is authorized against the sender and (in the SES sandbox)
    /// recipient identities and any configuration set, so the resource stays open; on AWS a
    /// condition limits the function to its own sender address (the local emulator does not
    /// supply that condition key, so there it is left out).
    SendEmail,
    /// SNS actions on platform endpoints and SMS, which have no resource to scope to.
    Sns(&'static [&'static str]),
    /// Reading the access-token signing key (an SSM SecureString).
    SigningKey,
    /// Reading SSM SecureString parameters, each given as (environment variable, template
    /// parameter naming it): the function is told where each secret is and may read exactly
    /// those, from one declaration, so the two never drift apart.
    Secrets(&'static [(&'static str, &'static str)]),
}

/// One Lambda function.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// Name, e.g. `send-message`; its CloudFormation logical id is `SendMessageFunction`.
    pub name: &'static str,
    /// What it does (the function's Description).
    pub description: &'static str,
    /// What invokes it.
    pub trigger: Trigger,
    /// Its role's permissions.
    pub allow: &'static [Allow],
    /// Environment variables beyond the global ones (name, template value).
    pub env: &'static [(&'static str, &'static str)],
    /// Timeout in seconds, when not the global 10.
    pub timeout: Option<u32>,
    /// How it runs.
    pub run: Runner,
}

impl Function {
    /// Whether the HTTP glue must refuse a request without a verified caller.
    pub fn http_access(&self) -> crate::lambda::http::Access {
        match self.trigger {
            Trigger::Http(_, Access::Bearer | Access::Admin) => {
                crate::lambda::http::Access::Authenticated
            }
            _ => crate::lambda::http::Access::Public,
        }
    }
}

/// A [`Runner`] that builds `$deps` from the cold-start [`crate::lambda::Init`] (with
/// `$init`, default [`crate::lambda::init`]) and serves `deps.$method` through the HTTP glue
/// with the declared access.
#[macro_export]
macro_rules! serve_http {
    ($deps:path, $method:ident) => {
        $crate::serve_http!($crate::lambda::init, $deps, $method)
    };
    ($init:path, $deps:path, $method:ident) => {
        $crate::serve_http!($init, $deps, $method, $crate::lambda::http::MAX_BODY_BYTES)
    };
    ($init:path, $deps:path, $method:ident, $limit:expr) => {
        |function| {
            Box::pin(async move {
                let init = $init().await?;
                let deps = $deps(&init);
                $crate::lambda::http::serve_limited(function.http_access(), $limit, |req| {
                    deps.$method(req)
                })
                .await
            })
        }
    };
}

/// A [`Runner`] for a WebSocket route: builds `$deps` and serves `deps.$method`.
#[macro_export]
macro_rules! serve_ws {
    ($deps:path, $method:ident) => {
        |_| {
            Box::pin(async move {
                let init = $crate::lambda::init().await?;
                let deps = $deps(&init);
                $crate::lambda::ws::run(|req| deps.$method(req)).await
            })
        }
    };
}

/// A [`Runner`] for a scheduled function: builds `$deps` and runs `deps.$method(at)`.
#[macro_export]
macro_rules! serve_schedule {
    ($deps:path, $method:ident) => {
        $crate::serve_schedule!($crate::lambda::init, $deps, $method)
    };
    ($init:path, $deps:path, $method:ident) => {
        |_| {
            Box::pin(async move {
                let init = $init().await?;
                let deps = $deps(&init);
                $crate::lambda::schedule::run(|at| deps.$method(at)).await
            })
        }
    };
}

/// A [`Runner`] for a stream consumer: builds `$deps` and hands `deps.$method` each batch of
/// the `$entity` items the table's stream inserted.
#[macro_export]
macro_rules! serve_stream {
    ($deps:path, $method:ident) => {
        |function| {
            Box::pin(async move {
                let $crate::routes::Trigger::Stream(stream) = function.trigger else {
                    return Err(format!("{} is not a stream consumer", function.name).into());
                };
                let init = $crate::lambda::init().await?;
                let deps = $deps(&init);
                $crate::lambda::stream::run(stream, |batch| deps.$method(batch)).await
            })
        }
    };
}

/// A feature's functions, built into one binary named after the feature.
#[derive(Clone, Copy, Debug)]
pub struct Feature {
    /// Binary name (`functions/<name>`), e.g. `chat`.
    pub binary: &'static str,
    /// Its functions.
    pub functions: &'static [Function],
}

/// The environment variable naming the function a Lambda was deployed for.
pub const FUNCTION_VARIABLE: &str = "GIGWIRE_FUNCTION";

/// A binary's `main`: runs the function named by `GIGWIRE_FUNCTION`, one of the features' it
/// is built with (every feature names this binary).
pub async fn run(features: &'static [Feature]) -> Result<(), BoxError> {
    let name = std::env::var(FUNCTION_VARIABLE)
        .map_err(|_| format!("environment variable {FUNCTION_VARIABLE} is not set"))?;
    let function = features
        .iter()
        .flat_map(|f| f.functions)
        .find(|f| f.name == name)
        // The list is `'static`; the runner gets its own declaration.
        .ok_or_else(|| {
            let binary = features.first().map_or("this", |f| f.binary);
            format!("the {binary} binary has no function {name:?}")
        })?;
    (function.run)(function).await
}

/// The Rust source of [`crate::route_table`]: the declared HTTP routes as plain data, for code
/// that runs inside a function (the unmatched-route answer, the 405 check) and must not link
/// every feature's handlers, as referencing [`crate::FEATURES`] would.
pub fn route_table_source(features: &[Feature]) -> String {
    let mut out = String::from(
        "//! Generated from the route declarations by `routes::route_table_source`; do not edit\n\
         //! (`UPDATE_GENERATED=1 cargo test --workspace --lib generated` rewrites it).\n\n\
         /// Every HTTP route: (method, path).\n\
         pub const HTTP_ROUTES: &[(&str, &str)] = &[\n",
    );
    let mut routes: Vec<(&str, &str)> = features
        .iter()
        .flat_map(|f| f.functions)
        .flat_map(|f| match f.trigger {
            Trigger::Http(routes, _) => routes.to_vec(),
            _ => Vec::new(),
        })
        .collect();
    routes.sort_by_key(|(method, path)| (*path, *method));
    for (method, path) in routes {
        let _ = writeln!(out, "    ({method:?}, {path:?}),");
    }
    out.push_str("];\n");
    out
}

/// Every declared HTTP route: (method, path, access).
pub fn http_routes() -> impl Iterator<Item = (&'static str, &'static str, Access)> {
    crate::FEATURES
        .iter()
        .flat_map(|feature| feature.functions)
        .flat_map(|function| match function.trigger {
            Trigger::Http(routes, access) => routes
                .iter()
                .map(move |(method, path)| (*method, *path, access))
                .collect(),
            _ => Vec::new(),
        })
}

/// `send-message` → `SendMessage`.
pub fn logical_id(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

const BEGIN: &str =
    "  # BEGIN GENERATED FUNCTIONS: written from the route declarations (shared/src/*/routes.rs)";
const END: &str = "  # END GENERATED FUNCTIONS";
const ARN: &str = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}";

/// `template` with the generated section replaced by the wiring of `features`.
pub fn template(template: &str, features: &[Feature]) -> Option<String> {
    let start = template.find(BEGIN)?;
    let end = template[start..].find(END)? + start;
    let mut out = String::with_capacity(template.len());
    out.push_str(&template[..start]);
    out.push_str(BEGIN);
    out.push('\n');
    // Functions that need the same permissions share one execution role (the same policy, so
    // no function gains anything): a role per function would put the stack over
    // CloudFormation's 500 resources.
    let mut roles: Vec<(String, Vec<String>)> = Vec::new();
    for function in features.iter().flat_map(|f| f.functions) {
        let policy = statements(function.allow);
        let id = logical_id(function.name);
        match roles.iter_mut().find(|(p, _)| *p == policy) {
            Some((_, users)) => users.push(id),
            None => roles.push((policy, vec![id])),
        }
    }
    for (index, (policy, users)) in roles.iter().enumerate() {
        execution_role(&mut out, &role_id(index), policy, users);
    }
    let binaries: std::collections::BTreeSet<&str> = features.iter().map(|f| f.binary).collect();
    for binary in binaries {
        invoke_role(&mut out, binary, features);
    }
    for feature in features {
        for function in feature.functions {
            let policy = statements(function.allow);
            let index = roles.iter().position(|(p, _)| *p == policy).unwrap_or(0);
            wiring(&mut out, feature.binary, function, &role_id(index));
        }
    }
    out.push_str(&template[end..]);
    Some(out)
}

/// The functions built into `binary` that an API invokes (HTTP and WebSocket routes).
fn api_functions<'a>(
    binary: &'a str,
    features: &'a [Feature],
) -> impl Iterator<Item = &'a Function> {
    features
        .iter()
        .filter(move |f| f.binary == binary)
        .flat_map(|f| f.functions)
        .filter(|f| {
            matches!(
                f.trigger,
                Trigger::Http(..) | Trigger::HttpDefault | Trigger::Ws(_)
            )
        })
}

/// `chat` → `ChatInvokeRole`.
fn invoke_role_id(binary: &str) -> String {
    format!("{}InvokeRole", logical_id(binary))
}

/// The role the APIs assume to invoke a binary's route functions (their integrations'
/// `CredentialsArn`). One role per binary in place of a `Lambda::Permission` per function:
/// a permission per function would put the stack over CloudFormation's 500 resources, and a
/// single role listing every function would near IAM's 10,240-character inline policy limit.
/// It may invoke exactly those route functions.
fn invoke_role(out: &mut String, binary: &str, features: &[Feature]) {
    let arns: Vec<String> = api_functions(binary, features)
        .map(|f| {
            format!(
                "                  - !GetAtt {}Function.Arn\n",
                logical_id(f.name)
            )
        })
        .collect();
    if arns.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "\n  # The role the APIs assume to invoke the {} functions' routes\n  {}:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Principal:\n              Service: apigateway.amazonaws.com\n            Action: sts:AssumeRole\n      Policies:\n        - PolicyName: invoke\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n              - Effect: Allow\n                Action: lambda:InvokeFunction\n                Resource:\n{}",
        binary,
        invoke_role_id(binary),
        arns.concat()
    );
}

fn role_id(index: usize) -> String {
    format!("ExecutionRole{:02}", index + 1)
}

/// An execution role: Lambda's basic logging permissions plus `policy`'s statements.
fn execution_role(out: &mut String, id: &str, policy: &str, users: &[String]) {
    let _ = write!(
        out,
        "\n  # The execution role of {}\n  {id}:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Principal:\n              Service: lambda.amazonaws.com\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - !Sub \"arn:${{AWS::Partition}}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\"\n",
        users.join(", ")
    );
    if !policy.is_empty() {
        out.push_str("      Policies:\n        - PolicyName: access\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n");
        out.push_str(policy);
    }
}

fn wiring(out: &mut String, binary: &str, f: &Function, role: &str) {
    let id = logical_id(f.name);
    let invoke = invoke_role_id(binary);
    let title = match f.trigger {
        Trigger::Http(routes, _) => routes
            .iter()
            .map(|(method, path)| format!("{method} {path}"))
            .collect::<Vec<_>>()
            .join(", "),
        Trigger::HttpDefault => "HTTP $default: whatever no route matches".into(),
        Trigger::Ws(route) => format!("WebSocket {route}"),
        Trigger::Schedule(_, rate) => format!("schedule {rate}"),
        Trigger::Stream(stream) => format!(
            "table stream: {} {}",
            if stream.changes { "written" } else { "new" },
            stream.entity
        ),
        Trigger::Authorizer => "authorizer".into(),
    };
    let _ = write!(
        out,
        "\n  # {title} {}\n  {id}Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      Description: {:?}\n      CodeUri: target/lambda/{binary}/\n",
        "-".repeat(70usize.saturating_sub(title.len())),
        f.description
    );
    if let Some(timeout) = f.timeout {
        let _ = writeln!(out, "      Timeout: {timeout}");
    }
    let _ = writeln!(
        out,
        "      Environment:\n        Variables:\n          {FUNCTION_VARIABLE}: {}",
        f.name
    );
    for (name, value) in f.env {
        let _ = writeln!(out, "          {name}: {value}");
    }
    for permission in f.allow {
        if let Allow::Secrets(secrets) = permission {
            for (name, parameter) in *secrets {
                let _ = writeln!(out, "          {name}: !Ref {parameter}");
            }
        }
    }
    let _ = writeln!(out, "      Role: !GetAtt {role}.Arn");
    match f.trigger {
        Trigger::Schedule(event, rate) => {
            let _ = writeln!(
                out,
                "      Events:\n        {event}:\n          Type: Schedule\n          Properties:\n            Schedule: {rate}"
            );
        }
        Trigger::Stream(stream) => stream_event(out, &stream),
        _ => {}
    }
    match f.trigger {
        Trigger::Http(routes, access) => http_wiring(out, &id, &invoke, routes, access),
        Trigger::HttpDefault => {
            http_wiring(out, &id, &invoke, &[("", "$default")], Access::Public);
        }
        Trigger::Ws(route) => ws_route(out, &id, &invoke, route),
        _ => {}
    }
}

/// `allow` as IAM policy statements, indented as a role's `PolicyDocument.Statement` list.
fn statements(allow: &[Allow]) -> String {
    let mut out = String::new();
    for permission in allow {
        let (actions, resource, condition) = statement(permission);
        let actions = match actions.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let _ = writeln!(
            out,
            "              - Effect: Allow\n                Action: {actions}\n                Resource: {resource}"
        );
        if let Some(condition) = condition {
            out.push_str(condition);
        }
    }
    out
}

fn statement(permission: &Allow) -> (Vec<String>, String, Option<&'static str>) {
    let each = |service: &str, actions: &[&str]| {
        actions
            .iter()
            .map(|a| format!("{service}:{a}"))
            .collect::<Vec<_>>()
    };
    let connections = |method: &str| {
        format!("!Sub \"{ARN}:${{WebSocketApi}}/${{Stage}}/{method}/@connections/*\"")
    };
    match permission {
        Allow::Table(actions) => (each("dynamodb", actions), "!GetAtt Table.Arn".into(), None),
        Allow::Indexes => (
            each("dynamodb", &["Query"]),
            "!Sub \"${Table.Arn}/index/*\"".into(),
            None,
        ),
        Allow::ReadStream => (
            each(
                "dynamodb",
                &["DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"],
            ),
            "!GetAtt Table.StreamArn".into(),
            None,
        ),
        Allow::Objects(actions, prefixes) => {
            let resources: Vec<String> = prefixes
                .iter()
                .map(|p| format!("!Sub \"${{Bucket.Arn}}/{p}*\""))
                .collect();
            let resource = match resources.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            (each("s3", actions), resource, None)
        }
        Allow::PostToConnections => (
            each("execute-api", &["ManageConnections"]),
            connections("POST"),
            None,
        ),
        Allow::CloseConnections => (
            each("execute-api", &["ManageConnections"]),
            connections("DELETE"),
            None,
        ),
        Allow::SendEmail => (
            each("ses", &["SendEmail"]),
            "\"*\"".into(),
            Some(
                "                Condition: !If\n                  - UseAwsManagementApi\n                  - StringEquals:\n                      ses:FromAddress: !Ref EmailFrom\n                  - !Ref AWS::NoValue\n",
            ),
        ),
        Allow::Sns(actions) => (each("sns", actions), "\"*\"".into(), None),
        Allow::SigningKey => (
            each("ssm", &["GetParameter"]),
            "!Sub \"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SigningKeyParameter}\"".into(),
            None,
        ),
        Allow::Secrets(secrets) => {
            let resources: Vec<String> = secrets
                .iter()
                .map(|(_, parameter)| format!("!Sub \"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{parameter}}}\""))
                .collect();
            let resource = match resources.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            (each("ssm", &["GetParameter"]), resource, None)
        }
    }
}

fn stream_event(out: &mut String, stream: &Stream) {
    let events = stream
        .events()
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut image = format!(r#""entity_type": {{"S": ["{}"]}}"#, stream.entity);
    if let Some((attribute, value)) = stream.only {
        let _ = write!(image, r#", "{attribute}": {{"S": ["{value}"]}}"#);
    }
    // From the oldest record kept: nothing written before the mapping first polls is skipped
    // (handlers are idempotent, so a replay notifies nobody twice). Retries are safe; a
    // poisoned record is isolated by bisecting and given up after a few attempts.
    let _ = writeln!(
        out,
        "      Events:\n        Stream:\n          Type: DynamoDB\n          Properties:\n            Stream: !GetAtt Table.StreamArn\n            StartingPosition: TRIM_HORIZON\n            BatchSize: 50\n            MaximumBatchingWindowInSeconds: 0\n            MaximumRetryAttempts: 5\n            BisectBatchOnFunctionError: true\n            FilterCriteria:\n              Filters:\n                - Pattern: '{{\"eventName\": [{events}], \"dynamodb\": {{\"NewImage\": {{{image}}}}}}}'"
    );
}

/// An integration invoking function `id` with the credentials of `role` (its binary's
/// invoke role).
fn integration(out: &mut String, id: &str, api: &str, uri: &str, role: &str, payload_v2: bool) {
    let _ = write!(
        out,
        "\n  {id}Integration:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties:\n      ApiId: !Ref {api}\n      IntegrationType: AWS_PROXY\n      IntegrationUri: {uri}\n      CredentialsArn: !GetAtt {role}.Arn\n"
    );
    if payload_v2 {
        out.push_str("      PayloadFormatVersion: \"2.0\"\n");
    }
}

fn route(out: &mut String, name: &str, id: &str, api: &str, key: &str, authorizer: Option<&str>) {
    let _ = write!(
        out,
        "\n  {name}:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref {api}\n      RouteKey: {key}\n"
    );
    if let Some(authorizer) = authorizer {
        let _ = write!(
            out,
            "      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref {authorizer}\n"
        );
    }
    let _ = writeln!(
        out,
        "      Target: !Sub \"integrations/${{{id}Integration}}\""
    );
}

fn http_wiring(out: &mut String, id: &str, role: &str, routes: &[(&str, &str)], access: Access) {
    integration(
        out,
        id,
        "HttpApi",
        &format!("!GetAtt {id}Function.Arn"),
        role,
        true,
    );
    let authorizer = (access != Access::Public).then_some("HttpApiAuthorizer");
    for (method, path) in routes {
        let name = if routes.len() == 1 {
            format!("{id}Route")
        } else {
            format!("{id}{}Route", logical_id(&method.to_ascii_lowercase()))
        };
        let key = if method.is_empty() {
            (*path).to_owned()
        } else {
            format!("{method} {path}")
        };
        route(out, &name, id, "HttpApi", &key, authorizer);
    }
}

fn ws_route(out: &mut String, id: &str, role: &str, key: &str) {
    integration(
        out,
        id,
        "WebSocketApi",
        &format!(
            "!Sub \"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{id}Function.Arn}}/invocations\""
        ),
        role,
        false,
    );
    let authorizer = (key == "$connect").then_some("WebSocketAuthorizer");
    route(
        out,
        &format!("{id}Route"),
        id,
        "WebSocketApi",
        key,
        authorizer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::generated::{check, repo_file};

    const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --workspace --lib generated";

    #[test]
    fn generated_template_wiring_matches_the_declarations() {
        let committed = std::fs::read_to_string(repo_file("template.yaml")).unwrap();
        let generated = template(&committed, crate::FEATURES).expect("generation markers");
        check("template.yaml", &generated, "UPDATE_GENERATED", REGENERATE);
    }

    #[test]
    fn generated_route_table_matches_the_declarations() {
        let generated = route_table_source(crate::FEATURES);
        check(
            "shared/src/route_table.rs",
            &generated,
            "UPDATE_GENERATED",
            REGENERATE,
        );
    }

    #[test]
    fn every_function_is_declared_once_and_every_binary_has_a_crate() {
        let mut names = std::collections::BTreeSet::new();
        for feature in crate::FEATURES {
            assert!(
                repo_file(&format!("functions/{}/src/main.rs", feature.binary)).is_file(),
                "no binary crate for feature {}",
                feature.binary
            );
            for function in feature.functions {
                assert!(
                    names.insert(function.name),
                    "{} declared twice",
                    function.name
                );
            }
        }
    }

    /// The APIs invoke every route function through its binary's role, and nothing else may:
    /// each integration names the role of its function's binary, each role lists exactly its
    /// binary's route functions, and no per-function permission is left. A role's policy
    /// stays well under IAM's 10,240 characters for a role's inline policies: a resolved
    /// function ARN is at most about 140 characters (a 64-character name), so 60 functions
    /// per role leave room.
    #[test]
    fn every_route_function_is_invoked_through_its_binary_s_role_only() {
        let generated = template(&format!("{BEGIN}\n{END}\n"), crate::FEATURES).unwrap();
        assert!(!generated.contains("AWS::Lambda::Permission"));
        let mut per_role: std::collections::BTreeMap<String, usize> = Default::default();
        for feature in crate::FEATURES {
            let role = invoke_role_id(feature.binary);
            for function in api_functions(feature.binary, crate::FEATURES) {
                let id = logical_id(function.name);
                let integration = generated
                    .split(&format!("  {id}Integration:\n"))
                    .nth(1)
                    .and_then(|rest| rest.split("\n\n").next())
                    .unwrap_or_else(|| panic!("no integration for {id}"));
                assert!(
                    integration.contains(&format!("CredentialsArn: !GetAtt {role}.Arn")),
                    "{id}: {integration}"
                );
                let listing = generated
                    .split(&format!("  {role}:\n"))
                    .nth(1)
                    .and_then(|rest| rest.split("\n\n").next())
                    .unwrap();
                let line = format!("- !GetAtt {id}Function.Arn");
                assert!(listing.lines().any(|l| l.trim() == line), "{role}: {id}");
            }
        }
        for binary in crate::FEATURES.iter().map(|f| f.binary) {
            let count = api_functions(binary, crate::FEATURES).count();
            per_role.insert(invoke_role_id(binary), count);
        }
        let listed = generated.matches("                  - !GetAtt ").count();
        assert_eq!(
            listed,
            per_role.values().sum::<usize>(),
            "no role lists anything else"
        );
        assert!(per_role.values().all(|&n| n <= 60), "{per_role:?}");
    }

    #[test]
    fn logical_ids_are_pascal_case_names() {
        assert_eq!(logical_id("send-message"), "SendMessage");
        assert_eq!(logical_id("ws-connect"), "WsConnect");
    }
}
