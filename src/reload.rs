//! Policy hot reload: the policy file is watched; a valid new version takes effect without a
//! restart, an invalid one is refused (its errors logged and audited) and the last good policy
//! stays in force. Rate-limit counters are not reset. A reload happens when a writer closes the
//! file or a new file is renamed into place (write the new policy beside it and rename it over
//! the old one for an atomic change), and reads the file only once it has stopped changing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};

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
        if let Ok(e) = event
            && e.paths
                .iter()
                .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        {
            if finished_write(&e.kind) {
                let _ = tx.send(());
            } else {
                tracing::trace!(kind = ?e.kind, "policy file touched, not a finished write: nothing reloaded");
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
                std::thread::sleep(SETTLE);
                while rx.try_recv().is_ok() {}
                reload(&gate, &path, &mut last);
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// How long events are let settle, and how long a file must stay the same to be read.
const SETTLE: Duration = Duration::from_millis(150);

/// Only a finished write counts: a writer closed the file, or a file was created or renamed into
/// place. Opens, reads and partial writes do not (the watcher's own reads of the policy, or a
/// log written into the same folder, would otherwise trigger it forever).
fn finished_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(_))
    )
}

/// The file's bytes once two reads `SETTLE` apart agree (a writer may still be at it), or the
/// last read after a few tries.
fn read_stable(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = std::fs::read(path)?;
    for _ in 0..20 {
        std::thread::sleep(SETTLE);
        let again = std::fs::read(path)?;
        if again == bytes {
            break;
        }
        bytes = again;
    }
    Ok(bytes)
}

fn reload(gate: &Gate, path: &Path, last: &mut Option<Vec<u8>>) {
    let name = path.display().to_string();
    let bytes = match read_stable(path) {
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
    let text = match crate::input::bounded_text(bytes, &name) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(file = %name, error = %e, "new policy refused; the last good policy stays in force");
            gate.audit_reload(&name, false, e.to_string());
            return;
        }
    };
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
