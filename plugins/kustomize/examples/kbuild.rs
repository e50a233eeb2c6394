//! Development aid: `cargo run -p plumb-kustomize --example kbuild -- ROOT DIR` builds the
//! kustomization at DIR (relative to ROOT) natively and prints the objects as a JSON array.

use plumb_plugin_sdk::testing::DirSource;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(root), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: kbuild ROOT DIR");
        return std::process::ExitCode::from(2);
    };
    match plumb_kustomize::render(dir, &DirSource::new(root)) {
        Ok(out) => {
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            let items: Vec<_> = out.objects.into_iter().map(|o| o.value).collect();
            println!("{}", serde_json::Value::Array(items));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
