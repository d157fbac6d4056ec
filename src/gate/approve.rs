//! Asking a human: the `require_approval` step of the gate. By elicitation (an input-required
//! result with sealed state on protocol 2026-07-28, a server request before it), or out of band
//! through the state store and `guarded-aws-mcp approvals`.

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequiredResult, RequestStateCodec, RequestStateError, SealOptions,
};
use rmcp::service::{ElicitationError, ServiceError};
use serde_json::Value;

use super::{Asker, CallCtx, Gate, Refusal};
use crate::approval::{self, Answer, Approval, SealedState, Status};
use crate::audit::Outcome;
use crate::catalogue::ToolSpec;
use crate::policy::{Approver, Decision};
use crate::state::StoreError;

/// An answer that is not `{"approve": true|false}`.
const UNREADABLE: &str = "the answer could not be read (the form asks for approve: true or false)";

/// Why a call that needs approval does not run now.
pub(super) enum Halt {
    Stop(Refusal),
    /// MRTR: the answer to this tools/call is a request for input.
    Ask(InputRequiredResult),
}

/// A call a human approved: how (for the audit record), and what must be used up, once, when
/// the call has its rate-limit slots — so an approval is never spent on a call that does not run.
pub(super) struct Approved {
    pub how: String,
    pub spend: Spend,
}

pub(super) enum Spend {
    /// Answered within this call (server-initiated elicitation).
    Nothing,
    /// An out-of-band approval, by id.
    Approval(String),
    /// The single-use nonce of an MRTR approval, remembered for the approval timeout.
    Nonce(String, std::time::Duration),
}

impl Gate {
    /// Use up an approval; false when an identical call used it first.
    pub(super) async fn spend(&self, spend: &Spend) -> Result<bool, StoreError> {
        match spend {
            Spend::Nothing => Ok(true),
            Spend::Approval(id) => self.store.consume_approval(id).await,
            Spend::Nonce(nonce, ttl) => self.store.use_nonce(nonce, *ttl).await,
        }
    }

    /// The codec that seals MRTR state, keyed by the store's sealing key.
    async fn codec(&self) -> Result<&RequestStateCodec, StoreError> {
        self.codec
            .get_or_try_init(|| async {
                let key = self.store.seal_key().await?;
                RequestStateCodec::try_new(key).map_err(|e| StoreError::Unavailable {
                    store: self.store.describe(),
                    detail: e.to_string(),
                })
            })
            .await
    }

    /// Put a `require_approval` call to a human. `Ok` says how it was approved; it runs once.
    pub(super) async fn seek_approval(
        &self,
        cx: &CallCtx<'_>,
        spec: &ToolSpec,
        args: &Value,
        redacted: &Value,
        decision: &Decision<'_>,
    ) -> Result<Approved, Halt> {
        let basis = &decision.basis.to_string();
        let key = approval::call_key(&cx.caller.principal, spec.name, args);
        let timeout = decision.approval_timeout;
        let refuse = |reason: String| Halt::Stop(Refusal::approval(basis, reason, Outcome::Denied));
        // The human said no, or did not answer in time.
        let not_made = |what: String| {
            refuse(format!(
                "{}; {what}, so the call was not made",
                decision.reason
            ))
        };
        let timed_out = || {
            not_made(format!(
                "no answer within the approval timeout of {}s",
                timeout.as_secs()
            ))
        };
        let down = |e: StoreError| Halt::Stop(Refusal::store_down(&e, "require_approval", basis));
        let prompt = || approval::prompt(spec.name, redacted, basis, &decision.reason);
        match (decision.approver, &cx.asker) {
            // Only an operator: whatever the client offers or sends, it is not asked.
            (Approver::Operator, _) => {
                return self
                    .out_of_band(cx, spec, key, redacted, decision, basis)
                    .await;
            }
            (Approver::Client, Asker::OutOfBand) => {
                return Err(refuse(format!(
                    "{}; this rule is approved only through the MCP client's elicitation, which this client does not offer, so the call was not made",
                    decision.reason
                )));
            }
            _ => {}
        }
        match &cx.asker {
            Asker::Elicit(peer) => {
                match peer
                    .elicit_with_timeout::<Answer>(prompt(), Some(timeout))
                    .await
                {
                    Ok(Some(Answer { approve: true })) => Ok(Approved {
                        how: "approved by the user (elicitation)".into(),
                        spend: Spend::Nothing,
                    }),
                    Ok(_) | Err(ElicitationError::UserDeclined) => {
                        Err(not_made("the user declined".into()))
                    }
                    Err(ElicitationError::UserCancelled) => {
                        Err(not_made("the user cancelled".into()))
                    }
                    Err(ElicitationError::Service(ServiceError::Timeout { .. })) => {
                        Err(timed_out())
                    }
                    Err(ElicitationError::CapabilityNotSupported)
                        if decision.approver == Approver::Any =>
                    {
                        self.out_of_band(cx, spec, key, redacted, decision, basis)
                            .await
                    }
                    Err(ElicitationError::ParseError { .. }) | Err(ElicitationError::NoContent) => {
                        Err(not_made(UNREADABLE.into()))
                    }
                    Err(e) => Err(not_made(format!("asking the user failed ({e})"))),
                }
            }
            Asker::Mrtr { state: None, .. } => {
                let codec = self.codec().await.map_err(down)?;
                let state = SealedState {
                    key: key.clone(),
                    session: cx.session.to_string(),
                    nonce: uuid::Uuid::new_v4().simple().to_string(),
                    rule: basis.to_string(),
                };
                let sealed = codec
                    .seal_json_with(
                        &state,
                        &SealOptions::new()
                            .associated_data(key.as_bytes())
                            .ttl(timeout),
                    )
                    .map_err(|e| refuse(format!("cannot seal the approval state: {e}")))?;
                let schema = ElicitationSchema::from_type::<Answer>()
                    .map_err(|e| refuse(format!("cannot build the approval form: {e}")))?;
                let request = InputRequest::Elicitation(ElicitRequest::new(
                    ElicitRequestParams::FormElicitationParams {
                        meta: None,
                        message: prompt(),
                        requested_schema: schema,
                    },
                ));
                let requests = [(approval::INPUT_KEY.to_string(), request)].into();
                Err(Halt::Ask(InputRequiredResult::new(
                    Some(requests),
                    Some(sealed),
                )))
            }
            Asker::Mrtr {
                state: Some(sealed),
                responses,
            } => {
                let codec = self.codec().await.map_err(down)?;
                let state: SealedState =
                    codec
                        .open_json_with(sealed, key.as_bytes())
                        .map_err(|e| match e {
                            RequestStateError::Expired => timed_out(),
                            _ => refuse(
                                "the approval state does not belong to this call (other tool, arguments or caller) or was altered; call again without it to be asked".into(),
                            ),
                        })?;
                let answer = responses
                    .as_ref()
                    .and_then(|r| r.get(approval::INPUT_KEY))
                    .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
                let Some(answer) = answer else {
                    return Err(refuse(format!(
                        "the retry carries no answer under inputResponses.{}",
                        approval::INPUT_KEY
                    )));
                };
                let content = match answer.action {
                    ElicitationAction::Accept => Some(
                        answer
                            .content
                            .map(serde_json::from_value::<Answer>)
                            .unwrap_or(Ok(Answer { approve: false })),
                    ),
                    _ => None,
                };
                if let Some(Err(_)) = content {
                    return Err(not_made(UNREADABLE.into()));
                }
                let approve = matches!(content, Some(Ok(Answer { approve: true })));
                if !approve {
                    let how = match answer.action {
                        ElicitationAction::Cancel => "cancelled",
                        _ => "declined",
                    };
                    return Err(not_made(format!("the user {how}")));
                }
                Ok(Approved {
                    how: "approved by the user (elicitation, input required)".into(),
                    spend: Spend::Nonce(state.nonce, timeout),
                })
            }
            Asker::OutOfBand => {
                self.out_of_band(cx, spec, key, redacted, decision, basis)
                    .await
            }
        }
    }

    /// No elicitation: the call waits for `guarded-aws-mcp approvals approve ID`, and the
    /// identical retry runs once.
    async fn out_of_band(
        &self,
        cx: &CallCtx<'_>,
        spec: &ToolSpec,
        key: String,
        redacted: &Value,
        decision: &Decision<'_>,
        basis: &str,
    ) -> Result<Approved, Halt> {
        let down = |e: StoreError| Halt::Stop(Refusal::store_down(&e, "require_approval", basis));
        let halt = |reason: String, outcome: Outcome| {
            Halt::Stop(Refusal::approval(basis, reason, outcome))
        };
        // Refused for now: what happened (`head`), then what the operator and the agent do.
        let awaiting = |a: &Approval, head: String| {
            let until = chrono::DateTime::from_timestamp(a.expires_at, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            halt(
                format!(
                    "{}; {head}. An operator runs `guarded-aws-mcp approvals show {id}` and `guarded-aws-mcp approvals approve {id}`; then retry this exact call (same tool and arguments) before {until} and it runs once",
                    decision.reason,
                    id = a.id,
                ),
                Outcome::AwaitingApproval {
                    via: "out of band".into(),
                    approval_id: Some(a.id.clone()),
                },
            )
        };
        if let Some(a) = self.store.find_approval(&key).await.map_err(down)? {
            match a.status_at(approval::now()) {
                Status::Approved => {
                    return Ok(Approved {
                        how: format!(
                            "approved out of band by {} ({}), run once",
                            a.decided_by.as_deref().unwrap_or("an operator"),
                            a.id
                        ),
                        spend: Spend::Approval(a.id.clone()),
                    });
                }
                Status::Denied => {
                    return Err(halt(
                        format!(
                            "{}; approval {} was denied by {}, so the call was not made",
                            decision.reason,
                            a.id,
                            a.decided_by.as_deref().unwrap_or("an operator")
                        ),
                        Outcome::Denied,
                    ));
                }
                Status::Pending => {
                    let head = format!("approval {} is still pending", a.id);
                    return Err(awaiting(&a, head));
                }
                Status::Used | Status::Expired => {}
            }
        }
        let now = approval::now();
        let a = Approval {
            id: approval::new_id(),
            key,
            tool: spec.name.to_string(),
            args: redacted.clone(),
            rule: basis.to_string(),
            reason: decision.reason.clone(),
            principal: cx.caller.principal.clone(),
            session: cx.session.to_string(),
            created_at: now,
            expires_at: now + decision.approval_timeout.as_secs() as i64,
            status: Status::Pending,
            decided_by: None,
            decided_at: None,
        };
        self.store.create_approval(&a).await.map_err(down)?;
        tracing::info!(tool = spec.name, approval = %a.id, "approval requested");
        let head = match decision.approver {
            Approver::Operator => format!(
                "this rule is approved only by an operator, out of band, so the call was not made and approval {} was requested",
                a.id
            ),
            _ => format!(
                "this client cannot ask the user, so the call was not made and approval {} was requested",
                a.id
            ),
        };
        Err(awaiting(&a, head))
    }
}
