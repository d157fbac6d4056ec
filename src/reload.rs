//! Policy hot reload: the policy file is watched; a valid new version takes effect without a
//! restart, an invalid one is refused (its errors logged and audited) and the last good policy
//! stays in force. Rate-limit counters are not reset.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::gate::Gate;
use crate::policy;

/// Watch `path` and reload it into `gate` on change. The watcher lives as long as the returned
/// handle. Editors that write a new file and rename it over the old one are handled by watching
/// the folder.
pub fn watch(gate: Arc<Gate>, path: PathBuf) -> notify::Result<notify::RecommendedWatcher> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path.file_name().map(|n| n.to_os_string());
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event {
            if e.paths
                .iter()
                .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            {
                let _ = tx.send(());
            }
        }
    })?;
    watcher.watch(&folder, RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("policy-reload".into())
        .spawn(move || {
            let mut last = std::fs::read(&path).ok();
            while rx.recv().is_ok() {
                // Let a burst of events (truncate, write, rename) settle.
                std::thread::sleep(Duration::from_millis(100));
                while rx.try_recv().is_ok() {}
                reload(&gate, &path, &mut last);
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

fn reload(gate: &Gate, path: &Path, last: &mut Option<Vec<u8>>) {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(file = %name, error = %e, "policy file unreadable; the last good policy stays in force");
            gate.audit_reload(&name, false, format!("unreadable: {e}"));
            return;
        }
    };
    if last.as_deref() == Some(bytes.as_slice()) {
        return;
    }
    *last = Some(bytes.clone());
    let text = String::from_utf8_lossy(&bytes);
    match policy::load_str(&text, &name, gate.catalogue()) {
        Ok(p) => {
            let hash = p.hash.clone();
            gate.set_policy(p);
            tracing::info!(file = %name, policy_sha256 = %hash, "policy reloaded");
            gate.audit_reload(&name, true, format!("policy {hash} in force"));
        }
        Err(e) => {
            let errors: Vec<String> = e.errors.iter().map(|x| x.to_string()).collect();
            tracing::error!(file = %name, errors = ?errors, "new policy refused; the last good policy stays in force");
            gate.audit_reload(&name, false, errors.join("; "));
        }
    }
}
