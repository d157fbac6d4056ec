//! Caller templates in policy values: `${principal}`, `${roles}`, `${claims.<name>}` (claims of
//! the identity provider's token, dotted for nested ones). A condition's value may be one whole
//! template (`{path: resource.tags.owner, op: eq, value: "${principal}"}`); a `tag_on_create`
//! value may mix text and templates (`team-${claims.team}`).

use serde_json::Value;

use super::eval::Caller;

/// One caller fact.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Principal,
    Roles,
    Claim(Vec<String>),
}

/// Text that is not a caller template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("`${{{0}}}` is not a template: use ${{principal}}, ${{roles}} or ${{claims.<name>}}")]
    Unknown(String),
    #[error("`{0}`: `${{` without a closing `}}`")]
    Unclosed(String),
}

impl Template {
    /// `principal`, `roles` or `claims.<name>` (the text between `${` and `}`).
    pub fn parse(inner: &str) -> Result<Template, TemplateError> {
        match inner.trim() {
            "principal" => Ok(Template::Principal),
            "roles" => Ok(Template::Roles),
            other => match other.strip_prefix("claims.").filter(|c| !c.is_empty()) {
                Some(c) => Ok(Template::Claim(c.split('.').map(str::to_string).collect())),
                None => Err(TemplateError::Unknown(inner.to_string())),
            },
        }
    }

    /// A value that is one whole template (`"${principal}"`), or None when it is not one.
    pub fn whole(v: &Value) -> Option<Result<Template, TemplateError>> {
        let s = v.as_str()?;
        let inner = s.strip_prefix("${")?.strip_suffix('}')?;
        (!inner.contains("${")).then(|| Template::parse(inner))
    }

    /// The caller's values for this template: the principal, each role, or the claim (each
    /// item of a list claim). None of them when a claim is absent (a caller without a token
    /// has no claims).
    pub fn values(&self, caller: &Caller) -> Vec<Value> {
        match self {
            Template::Principal => vec![Value::String(caller.principal.clone())],
            Template::Roles => caller
                .roles
                .iter()
                .map(|r| Value::String(r.clone()))
                .collect(),
            Template::Claim(path) => {
                let Some(token) = &caller.token else {
                    return Vec::new();
                };
                let mut parts = path.iter();
                let Some(first) = parts.next() else {
                    return Vec::new();
                };
                let found = token
                    .claims
                    .get(&path.join("."))
                    .or_else(|| parts.try_fold(token.claims.get(first)?, |v, k| v.get(k)));
                match found {
                    Some(Value::Array(items)) => items.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(v) => vec![v.clone()],
                }
            }
        }
    }

    /// The caller's value as text (roles joined with spaces; empty when absent).
    pub fn text(&self, caller: &Caller) -> String {
        self.values(caller)
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A text with templates in it (`owner: "${principal}"`, `team-${claims.team}`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateText {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Var(Template),
}

impl TemplateText {
    pub fn parse(s: &str) -> Result<TemplateText, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Unclosed(s.to_string()))?;
            parts.push(Part::Var(Template::parse(&after[..end])?));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(TemplateText { parts })
    }

    /// The claims this text reads (`team`, `org.unit`).
    pub fn claims(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Var(Template::Claim(path)) => Some(path.join(".")),
                _ => None,
            })
            .collect()
    }

    pub fn render(&self, caller: &Caller) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Var(v) => v.text(caller),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::TokenFacts;
    use serde_json::json;

    #[test]
    fn templates_read_the_caller() {
        let plain = Caller::new("alice", vec!["ops".into(), "dev".into()]);
        let token = Caller::new("bob", vec![]).with_token(TokenFacts {
            issuer: "https://idp".into(),
            id: None,
            claims: json!({"team": "payments", "org": {"unit": "eu"}, "groups": ["a", "b"]})
                .as_object()
                .unwrap()
                .clone(),
        });
        let t = |s: &str| Template::whole(&json!(s)).unwrap().unwrap();
        assert_eq!(t("${principal}").values(&plain), vec![json!("alice")]);
        assert_eq!(
            t("${roles}").values(&plain),
            vec![json!("ops"), json!("dev")]
        );
        assert_eq!(t("${claims.team}").values(&token), vec![json!("payments")]);
        assert_eq!(t("${claims.org.unit}").values(&token), vec![json!("eu")]);
        assert_eq!(
            t("${claims.groups}").values(&token),
            vec![json!("a"), json!("b")]
        );
        assert!(t("${claims.team}").values(&plain).is_empty());
        assert!(Template::whole(&json!("${nobody}")).unwrap().is_err());
        assert!(Template::whole(&json!("plain")).is_none());
        let text = TemplateText::parse("${principal}@${claims.team}").unwrap();
        assert_eq!(text.render(&token), "bob@payments");
        assert_eq!(
            TemplateText::parse("guarded-aws-mcp")
                .unwrap()
                .render(&plain),
            "guarded-aws-mcp"
        );
        assert!(TemplateText::parse("${principal").is_err());
    }
}
