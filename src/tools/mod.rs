//! Tool families: one module per AWS service, each a set of handlers plus catalogue entries.

pub mod access_analyzer;
pub mod common;
pub mod iam;
pub mod mq;
pub mod rabbitmq;

use crate::catalogue::{Catalogue, Extensions, ToolSpec};

/// What the families are configured with at start-up (the `serve` flags that belong to one).
#[derive(Debug, Clone, Default)]
pub struct ToolsConfig {
    /// Management hosts the RabbitMQ connect tools may send credentials to, besides the
    /// defaults (`--rabbitmq-allowed-host`).
    pub rabbitmq_allowed_hosts: Vec<String>,
}

/// A family's configuration it cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ToolsConfigError {
    #[error(transparent)]
    RabbitMqHosts(#[from] rabbitmq::HostPatternError),
}

/// The state every family keeps for the server's life, configured.
pub fn extensions(config: &ToolsConfig) -> Result<Extensions, ToolsConfigError> {
    let connections = rabbitmq::Connections::with_allowed_hosts(&config.rabbitmq_allowed_hosts)?;
    Ok(Extensions::default().with_session_state(std::sync::Arc::new(connections)))
}

/// The tool families of this build, by name, in catalogue order.
type ToolsFn = fn() -> Vec<ToolSpec>;
const FAMILIES: [(&str, ToolsFn); 4] = [
    ("Amazon MQ", mq::tools),
    ("IAM", iam::tools),
    (
        "IAM policy generation (IAM Access Analyzer)",
        access_analyzer::tools,
    ),
    ("RabbitMQ brokers (management API)", rabbitmq::tools),
];

/// Every tool of this build, each knowing its family.
pub fn all() -> Vec<ToolSpec> {
    FAMILIES
        .iter()
        .flat_map(|(family, tools)| {
            tools().into_iter().map(move |mut t| {
                t.family = family;
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
    /// names at least one, each well formed; tools that call no AWS API name none.
    #[test]
    fn every_aws_tool_names_its_iam_actions() {
        let well_formed =
            regex::Regex::new(r"^(mq|iam|access-analyzer|sts):[A-Z][A-Za-z]+$").unwrap();
        for t in Catalogue::builtin().iter() {
            let actions = t.aws_actions();
            let calls_aws = !t.name.starts_with("rabbitmq_broker_") || t.aws_api.contains("mq:");
            assert_eq!(!actions.is_empty(), calls_aws, "{}: {:?}", t.name, actions);
            for a in actions {
                assert!(well_formed.is_match(a), "{}: {a}", t.name);
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
