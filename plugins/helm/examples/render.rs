//! Renders a chart natively, printing what `helm template` would print (a debugging aid).
//!
//! `cargo run -p plumb-helm --example render -- ROOT CHART_PATH RELEASE NAMESPACE [SETTINGS_JSON]`

use plumb_plugin_sdk::Context;
use plumb_plugin_sdk::testing::DirSource;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: render ROOT CHART_PATH RELEASE NAMESPACE [SETTINGS_JSON]");
        std::process::exit(2);
    }
    let mut settings: serde_json::Value = args
        .get(5)
        .map(|s| serde_json::from_str(s).unwrap_or_default())
        .unwrap_or_else(|| serde_json::json!({}));
    settings["releaseName"] = serde_json::Value::String(args[3].clone());
    settings["namespace"] = serde_json::Value::String(args[4].clone());
    let settings: plumb_helm::Settings = match serde_json::from_value(settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("invalid settings: {e}");
            std::process::exit(2);
        }
    };
    let ctx = Context {
        app: args[3].clone(),
        namespace: args[4].clone(),
        path: args[2].clone(),
        revision: "local".into(),
        ..Default::default()
    };
    match plumb_helm::render_text(&settings, &ctx, &DirSource::new(&args[1])) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
