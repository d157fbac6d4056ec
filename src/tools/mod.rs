//! Tool families: one folder per service, each owning its tools, the resources they act on,
//! the AWS services it calls and the state it keeps ([`Family`]); [`FAMILIES`] lists them.

pub mod access_analyzer;
pub mod common;
pub mod iam;
pub mod mq;
pub mod rabbitmq;

use crate::catalogue::{Catalogue, Extensions, ToolSpec};
use crate::resource::ResourceKind;

/// Everything about one service's tools. The gate, the policy checker, listing, audit and
/// metrics read only what a family answers here (through the catalogue and the extensions).
pub trait Family: Sync {
    /// Its name, which docs/tools.md and `policy init` group tools by.
    fn name(&self) -> &'static str;
    /// Its tools.
    fn tools(&self) -> Vec<ToolSpec>;
    /// The resources its tools act on, for `resource.*` conditions.
    fn resource_kinds(&self) -> &'static [&'static ResourceKind] {
        &[]
    }
    /// The system and service its HTTP requests (`GET /api/overview`) are named by in spans
    /// and metrics, if its tools make any.
    fn http_api(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// The AWS services whose actions its tools need (`mq`, `iam` …, as IAM names them; a
    /// permission such as `iam:PassRole` counts).
    fn aws_services(&self) -> &'static [&'static str];
    /// What it reads for a guard of the policy before the decision (the IAM family reads
    /// what an IAM change puts in force), with the server's AWS identity, cached `ttl`.
    fn guard_reader(
        &self,
        _aws: &std::sync::Arc<crate::aws::AwsClients>,
        _ttl: std::time::Duration,
        _clock: &crate::clock::Clock,
    ) -> Option<std::sync::Arc<dyn crate::catalogue::guard::GuardReader>> {
        None
    }
    /// What it keeps for the server's life, added to `into` (state per MCP session implements
    /// `catalogue::SessionState` and is dropped when the session ends).
    fn extensions(
        &self,
        _config: &ToolsConfig,
        into: Extensions,
    ) -> Result<Extensions, ToolsConfigError> {
        Ok(into)
    }
}

/// The tool families of this build, in catalogue order. Adding a family is a folder and a line
/// here.
pub static FAMILIES: [&dyn Family; 4] = [
    &mq::AmazonMq,
    &iam::Iam,
    &access_analyzer::PolicyGeneration,
    &rabbitmq::RabbitMq,
];

/// The policy section of this build's guard (`iam_guard`), and the fixture that stands for its
/// reading in `policy test` cases and `policy explain --iam`: the IAM family's. The policy and
/// the CLI name these, not the family.
pub type GuardSection = iam::guard::GuardSpec;
pub type GuardFixtureFile = iam::guard::IamFixture;

/// What the families are configured with at start-up: each family's own `serve` flags,
/// flattened into `serve`'s.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ToolsConfig {
    #[command(flatten)]
    pub rabbitmq: rabbitmq::Config,
}

/// A family's configuration it cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ToolsConfigError {
    #[error(transparent)]
    RabbitMqHosts(#[from] rabbitmq::HostPatternError),
}

/// The state every family keeps for the server's life, configured.
pub fn extensions(config: &ToolsConfig) -> Result<Extensions, ToolsConfigError> {
    FAMILIES
        .iter()
        .try_fold(Extensions::default(), |x, f| f.extensions(config, x))
}

/// The reader of the guard a family offers (this build's: the IAM guard's), if any.
pub fn guard_reader(
    aws: &std::sync::Arc<crate::aws::AwsClients>,
    ttl: std::time::Duration,
    clock: &crate::clock::Clock,
) -> Option<std::sync::Arc<dyn crate::catalogue::guard::GuardReader>> {
    FAMILIES
        .iter()
        .find_map(|f| f.guard_reader(aws, ttl, clock))
}

/// Every tool of this build, each knowing its family.
pub fn all() -> Vec<ToolSpec> {
    FAMILIES
        .iter()
        .flat_map(|f| {
            let family = f.name();
            let http = f.http_api();
            f.tools().into_iter().map(move |mut t| {
                t.family = family;
                if let (Some((system, service)), "http") = (http, t.api.system) {
                    t.api.system = system;
                    t.api.service = service;
                }
                t
            })
        })
        .collect()
}

impl Catalogue {
    /// The full catalogue of this build. Its tool names are unique (a unit test builds it), so
    /// this cannot fail at run time.
    pub fn builtin() -> Self {
        match Catalogue::new(all()) {
            Ok(c) => c,
            Err(e) => panic!("the built-in catalogue is broken: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CatalogueError;

    #[test]
    fn the_builtin_catalogue_builds_and_refuses_duplicates() {
        assert_eq!(Catalogue::builtin().len(), 81);
        let mut twice = mq::tools();
        twice.extend(mq::tools());
        let e = Catalogue::new(twice).err().expect("refused");
        assert!(matches!(e, CatalogueError::DuplicateName(_)), "{e}");
    }

    /// A family's HTTP requests are named by the family in spans and metrics.
    #[test]
    fn http_requests_are_named_by_their_family() {
        let c = Catalogue::builtin();
        let list = c.get("rabbitmq_broker_list_queues").unwrap();
        assert_eq!(
            (list.api.system, list.api.service, list.api.method),
            ("rabbitmq-management", "rabbitmq", "GET /api/queues")
        );
        let connect = c.get("rabbitmq_broker_initialize_connection").unwrap();
        assert_eq!((connect.api.system, connect.api.service), ("aws-api", "mq"));
    }

    /// A tool acts only on resources its own family declares, and every family's kinds have
    /// distinct ids.
    #[test]
    fn every_target_is_a_kind_of_its_own_family() {
        let mut ids = std::collections::HashSet::new();
        for family in FAMILIES {
            for k in family.resource_kinds() {
                assert!(ids.insert(k.id), "two kinds are {}", k.id);
            }
            for t in family.tools() {
                let Some(target) = t.target else { continue };
                let at = target
                    .locate(&serde_json::json!({ target.arg(): "x" }))
                    .unwrap();
                assert!(
                    family.resource_kinds().contains(&at.kind),
                    "{} acts on {:?}, which {} does not declare",
                    t.name,
                    at.kind,
                    family.name()
                );
            }
        }
    }

    /// A tool whose arguments carry a policy document the guard does not check cannot be built.
    #[test]
    fn an_unguarded_policy_document_fails_the_catalogue() {
        let mut unguarded: Vec<ToolSpec> = iam::tools()
            .into_iter()
            .filter(|t| t.name == "put_user_policy")
            .collect();
        unguarded[0].documents.clear();
        let e = Catalogue::new(unguarded).err().expect("refused");
        assert!(
            e.to_string()
                .contains("`policy_document` is a PolicyDocument"),
            "{e}"
        );
    }

    /// Per-tool session policies allow exactly a tool's actions: every tool that calls AWS
    /// names at least one, each well formed and of a service its family declares; tools that
    /// call no AWS API name none.
    #[test]
    fn every_aws_tool_names_its_iam_actions() {
        let well_formed = regex::Regex::new(r"^([a-z-]+):[A-Z][A-Za-z]+$").unwrap();
        for family in FAMILIES {
            for t in family.tools() {
                let actions = t.aws_actions();
                let calls_aws =
                    !t.name.starts_with("rabbitmq_broker_") || t.aws_api.contains("mq:");
                assert_eq!(!actions.is_empty(), calls_aws, "{}: {:?}", t.name, actions);
                for a in actions {
                    let service = well_formed
                        .captures(a)
                        .unwrap_or_else(|| panic!("{}: {a}", t.name))[1]
                        .to_string();
                    assert!(
                        family.aws_services().contains(&service.as_str()),
                        "{}: {a} is not a service of {}",
                        t.name,
                        family.name()
                    );
                }
            }
        }
        let catalogue = Catalogue::builtin();
        let delete_user = catalogue.get("delete_user").unwrap().aws_actions();
        assert!(
            delete_user.contains(&"iam:DeleteUser")
                && delete_user.contains(&"iam:DeleteLoginProfile")
        );
    }
}
