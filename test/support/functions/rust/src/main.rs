use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload["fail"] == json!(true) {
        return Err("asked to fail".into());
    }
    println!("rust says hi to {}", payload["name"]);
    Ok(json!({
        "event": payload,
        "requestId": context.request_id,
        "functionName": context.env_config.function_name,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
