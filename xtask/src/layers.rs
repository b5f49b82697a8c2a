//! The layering rule: dependencies between workspace crates point down only.
//!
//! ```text
//!            status-cli
//!              status            (facade)
//!          /            \
//!    status-chat      waku-relay
//!         |
//!   status-sessions
//!     /        \
//! status-x3dh  status-noise
//!     \        /
//!   status-identity
//! ```
//!
//! Every kind of dependency counts (normal, build and dev): a test that reaches upward
//! couples the layers as much as code does.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeSet;

/// For each workspace crate, the workspace crates it may depend on.
pub const ALLOWED: &[(&str, &[&str])] = &[
    ("status-identity", &[]),
    ("status-x3dh", &["status-identity"]),
    ("status-noise", &["status-identity"]),
    (
        "status-sessions",
        &["status-identity", "status-x3dh", "status-noise"],
    ),
    (
        "status-chat",
        &[
            "status-identity",
            "status-x3dh",
            "status-noise",
            "status-sessions",
        ],
    ),
    ("waku-relay", &[]),
    (
        "status",
        &[
            "status-identity",
            "status-x3dh",
            "status-noise",
            "status-sessions",
            "status-chat",
            "waku-relay",
        ],
    ),
    (
        "status-cli",
        &[
            "status",
            "status-identity",
            "status-x3dh",
            "status-noise",
            "status-sessions",
            "status-chat",
            "waku-relay",
        ],
    ),
    // Tooling may use anything; nothing may use it (it is not in any list above).
    (
        "xtask",
        &[
            "status",
            "status-identity",
            "status-x3dh",
            "status-noise",
            "status-sessions",
            "status-chat",
            "waku-relay",
            "status-cli",
        ],
    ),
];

/// A dependency that breaks the layering rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The crate that depends.
    pub from: String,
    /// The workspace crate it must not depend on.
    pub to: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} depends on {}, which is not below it in the layer diagram",
            self.from, self.to
        )
    }
}

/// Checks the output of `cargo metadata --format-version 1 --no-deps`.
///
/// A workspace crate missing from [`ALLOWED`] is an error too, so a new crate has to
/// be placed in the diagram before it can land.
pub fn check(metadata: &Value) -> Result<Vec<Violation>> {
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages array")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut violations = BTreeSet::new();
    for package in packages {
        let name = package["name"].as_str().context("package without name")?;
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            bail!(
                "workspace crate {name} is not placed in the layer diagram (xtask/src/layers.rs)"
            );
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if members.contains(dep_name) && !allowed.contains(&dep_name) {
                violations.insert(Violation {
                    from: name.to_owned(),
                    to: dep_name.to_owned(),
                });
            }
        }
    }
    Ok(violations.into_iter().collect())
}

/// Runs `cargo metadata` on the workspace and checks it.
pub fn check_workspace() -> Result<Vec<Violation>> {
    let output =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    check(&metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(edges: &[(&str, &[&str])]) -> Value {
        let packages: Vec<Value> = edges
            .iter()
            .map(|(name, deps)| {
                serde_json::json!({
                    "name": name,
                    "dependencies": deps.iter().map(|d| serde_json::json!({"name": d})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({ "packages": packages })
    }

    #[test]
    fn the_workspace_follows_the_layers() {
        let violations = check_workspace().unwrap();
        assert!(violations.is_empty(), "{violations:?}");
    }

    #[test]
    fn an_upward_dependency_is_caught() {
        let meta = metadata(&[
            ("status-identity", &["status-x3dh", "sha2"]),
            ("status-x3dh", &["status-identity"]),
        ]);
        let violations = check(&meta).unwrap();
        assert_eq!(
            violations,
            vec![Violation {
                from: "status-identity".into(),
                to: "status-x3dh".into()
            }]
        );
    }

    #[test]
    fn the_relay_and_the_protocol_crates_ignore_each_other() {
        let meta = metadata(&[
            ("waku-relay", &["status-identity"]),
            ("status-identity", &[]),
        ]);
        assert_eq!(check(&meta).unwrap().len(), 1);
        let meta = metadata(&[("status-chat", &["waku-relay"]), ("waku-relay", &[])]);
        assert_eq!(check(&meta).unwrap().len(), 1);
    }

    #[test]
    fn nothing_depends_on_the_facade_or_xtask() {
        let meta = metadata(&[("status-chat", &["status"]), ("status", &[])]);
        assert_eq!(check(&meta).unwrap().len(), 1);
        let meta = metadata(&[("status", &["xtask"]), ("xtask", &[])]);
        assert_eq!(check(&meta).unwrap().len(), 1);
    }

    #[test]
    fn an_unplaced_crate_is_an_error() {
        let meta = metadata(&[("status-extra", &[])]);
        assert!(check(&meta).is_err());
    }
}
