//! Asking a human: the `require_approval` step of the gate. By elicitation (an input-required
//! result with sealed state on protocol 2026-07-28, a server request before it), or out of band
//! through the state store and `guarded-aws-mcp approvals`.

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequiredResult, InputResponses, RequestStateCodec, RequestStateError,
    SealOptions,
};
use rmcp::service::{ElicitationError, ServiceError};
use rmcp::{Peer, RoleServer};
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
        let ask = Asking {
            cx,
            spec,
            key: approval::call_key(&cx.caller.principal, spec.name, args),
            redacted,
            decision,
            basis: decision.basis.to_string(),
            now: self.clock.unix(),
        };
        match (decision.approver, &cx.asker) {
            // Only an operator: whatever the client offers or sends, it is not asked.
            (Approver::Operator, _) | (Approver::Any, Asker::OutOfBand) => {
                self.out_of_band(&ask).await
            }
            (Approver::Client, Asker::OutOfBand) => Err(ask.not_made(
                "this rule is approved only through the MCP client's elicitation, which this client does not offer",
            )),
            (_, Asker::Elicit(peer)) => self.elicit(&ask, peer).await,
            (_, Asker::Mrtr { state: None, .. }) => Err(self.mrtr_ask(&ask).await),
            (
                _,
                Asker::Mrtr {
                    state: Some(sealed),
                    responses,
                },
            ) => self.mrtr_answer(&ask, sealed, responses.as_ref()).await,
        }
    }

    /// Before protocol 2026-07-28: a server-initiated `elicitation/create` during the call.
    async fn elicit(&self, ask: &Asking<'_>, peer: &Peer<RoleServer>) -> Result<Approved, Halt> {
        let timeout = ask.decision.approval_timeout;
        match peer
            .elicit_with_timeout::<Answer>(ask.prompt(), Some(timeout))
            .await
        {
            Ok(Some(Answer { approve: true })) => Ok(Approved {
                how: "approved by the user (elicitation)".into(),
                spend: Spend::Nothing,
            }),
            Ok(_) | Err(ElicitationError::UserDeclined) => Err(ask.not_made("the user declined")),
            Err(ElicitationError::UserCancelled) => Err(ask.not_made("the user cancelled")),
            Err(ElicitationError::Service(ServiceError::Timeout { .. })) => Err(ask.timed_out()),
            Err(ElicitationError::CapabilityNotSupported)
                if ask.decision.approver == Approver::Any =>
            {
                self.out_of_band(ask).await
            }
            Err(ElicitationError::ParseError { .. }) | Err(ElicitationError::NoContent) => {
                Err(ask.not_made(UNREADABLE))
            }
            Err(e) => Err(ask.not_made(&format!("asking the user failed ({e})"))),
        }
    }

    /// Protocol 2026-07-28, first round: answer with a form to fill and sealed state (bound to
    /// the caller, tool and canonical arguments; single use; expiring with the timeout).
    async fn mrtr_ask(&self, ask: &Asking<'_>) -> Halt {
        let codec = match self.codec().await {
            Ok(c) => c,
            Err(e) => return ask.down(e),
        };
        let state = SealedState {
            key: ask.key.clone(),
            session: ask.cx.session.to_string(),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            rule: ask.basis.clone(),
            expires_at: Some(ask.now + ask.decision.approval_timeout.as_secs() as i64),
        };
        let options = SealOptions::new()
            .associated_data(ask.key.as_bytes())
            .ttl(ask.decision.approval_timeout);
        let sealed = match codec.seal_json_with(&state, &options) {
            Ok(s) => s,
            Err(e) => return ask.refuse(format!("cannot seal the approval state: {e}")),
        };
        let schema = match ElicitationSchema::from_type::<Answer>() {
            Ok(s) => s,
            Err(e) => return ask.refuse(format!("cannot build the approval form: {e}")),
        };
        let request = InputRequest::Elicitation(ElicitRequest::new(
            ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: ask.prompt(),
                requested_schema: schema,
            },
        ));
        let requests = [(approval::INPUT_KEY.to_string(), request)].into();
        Halt::Ask(InputRequiredResult::new(Some(requests), Some(sealed)))
    }

    /// Protocol 2026-07-28, the retry: the sealed state must be this call's and unexpired, and
    /// the answer an accepted form with `approve: true`.
    async fn mrtr_answer(
        &self,
        ask: &Asking<'_>,
        sealed: &str,
        responses: Option<&InputResponses>,
    ) -> Result<Approved, Halt> {
        let codec = self.codec().await.map_err(|e| ask.down(e))?;
        let state: SealedState =
            codec
                .open_json_with(sealed, ask.key.as_bytes())
                .map_err(|e| match e {
                    RequestStateError::Expired => ask.timed_out(),
                    _ => ask.refuse(
                        "the approval state does not belong to this call (other tool, arguments or caller) or was altered; call again without it to be asked".into(),
                    ),
                })?;
        if state.expires_at.is_some_and(|at| ask.now > at) {
            return Err(ask.timed_out());
        }
        let answer = responses
            .and_then(|r| r.get(approval::INPUT_KEY))
            .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok())
            .ok_or_else(|| {
                ask.refuse(format!(
                    "the retry carries no answer under inputResponses.{}",
                    approval::INPUT_KEY
                ))
            })?;
        let approve = match answer.action {
            ElicitationAction::Accept => {
                answer
                    .content
                    .map(serde_json::from_value::<Answer>)
                    .unwrap_or(Ok(Answer { approve: false }))
                    .map_err(|_| ask.not_made(UNREADABLE))?
                    .approve
            }
            _ => false,
        };
        if !approve {
            return Err(ask.not_made(match answer.action {
                ElicitationAction::Cancel => "the user cancelled",
                _ => "the user declined",
            }));
        }
        Ok(Approved {
            how: "approved by the user (elicitation, input required)".into(),
            spend: Spend::Nonce(state.nonce, ask.decision.approval_timeout),
        })
    }

    /// No elicitation (or `approver: operator`): the call waits for `guarded-aws-mcp approvals
    /// approve ID`, and the identical retry runs once.
    async fn out_of_band(&self, ask: &Asking<'_>) -> Result<Approved, Halt> {
        if let Some(a) = self
            .store
            .find_approval(&ask.key)
            .await
            .map_err(|e| ask.down(e))?
        {
            let by = a.decided_by.as_deref().unwrap_or("an operator");
            match a.status_at(self.clock.unix()) {
                Status::Approved => {
                    return Ok(Approved {
                        how: format!("approved out of band by {by} ({}), run once", a.id),
                        spend: Spend::Approval(a.id.clone()),
                    });
                }
                Status::Denied => {
                    return Err(ask.not_made(&format!("approval {} was denied by {by}", a.id)));
                }
                Status::Pending => {
                    return Err(ask.awaiting(&a, format!("approval {} is still pending", a.id)));
                }
                Status::Used | Status::Expired => {}
            }
        }
        let a = ask.new_approval();
        self.store
            .create_approval(&a)
            .await
            .map_err(|e| ask.down(e))?;
        tracing::info!(tool = ask.spec.name, approval = %a.id, "approval requested");
        if let Some(hook) = &self.webhook {
            hook.notify("approval_requested", &a);
        }
        let why = match ask.decision.approver {
            Approver::Operator => "this rule is approved only by an operator, out of band",
            _ => "this client cannot ask the user",
        };
        let head = format!(
            "{why}, so the call was not made and approval {} was requested",
            a.id
        );
        Err(ask.awaiting(&a, head))
    }
}

/// One call being put to a human, and the refusals it can end in.
struct Asking<'a> {
    cx: &'a CallCtx<'a>,
    spec: &'a ToolSpec,
    /// The call's identity: principal, tool and canonical arguments, hashed.
    key: String,
    redacted: &'a Value,
    decision: &'a Decision<'a>,
    basis: String,
    /// Unix seconds when asking started, by the gate's clock.
    now: i64,
}

impl Asking<'_> {
    fn prompt(&self) -> String {
        approval::prompt(
            self.spec.name,
            self.redacted,
            &self.basis,
            &self.decision.reason,
        )
    }

    fn refuse(&self, reason: String) -> Halt {
        Halt::Stop(Refusal::approval(&self.basis, reason, Outcome::Denied))
    }

    /// The human said no, or did not answer in time.
    fn not_made(&self, what: &str) -> Halt {
        self.refuse(format!(
            "{}; {what}, so the call was not made",
            self.decision.reason
        ))
    }

    fn timed_out(&self) -> Halt {
        self.not_made(&format!(
            "no answer within the approval timeout of {}s",
            self.decision.approval_timeout.as_secs()
        ))
    }

    fn down(&self, e: StoreError) -> Halt {
        Halt::Stop(Refusal::store_down(&e, "require_approval", &self.basis))
    }

    /// Refused for now: what happened (`head`), then what the operator and the agent do.
    fn awaiting(&self, a: &Approval, head: String) -> Halt {
        let until = chrono::DateTime::from_timestamp(a.expires_at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        Halt::Stop(Refusal::approval(
            &self.basis,
            format!(
                "{}; {head}. An operator runs `guarded-aws-mcp approvals show {id}` and `guarded-aws-mcp approvals approve {id}`; then retry this exact call (same tool and arguments) before {until} and it runs once",
                self.decision.reason,
                id = a.id,
            ),
            Outcome::AwaitingApproval {
                via: "out of band".into(),
                approval_id: Some(a.id.clone()),
            },
        ))
    }

    fn new_approval(&self) -> Approval {
        let now = self.now;
        Approval {
            id: approval::new_id(),
            key: self.key.clone(),
            tool: self.spec.name.to_string(),
            args: self.redacted.clone(),
            rule: self.basis.clone(),
            reason: self.decision.reason.clone(),
            principal: self.cx.caller.principal.clone(),
            session: self.cx.session.to_string(),
            created_at: now,
            expires_at: now + self.decision.approval_timeout.as_secs() as i64,
            status: Status::Pending,
            decided_by: None,
            decided_at: None,
        }
    }
}
