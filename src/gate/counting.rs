//! What a call counts before it runs: the budget of refused calls a session or principal may
//! send (a flood is refused unread), and the call's slots in the limits that apply to it.

use rmcp::model::CallToolResponse;

use super::refusal::Refusal;
use super::{Call, Gate};
use crate::policy::{CallFacts, CompiledLimit, Decision};
use crate::state::{Reservation, counted};

impl Gate {
    /// A session, or a principal over all its sessions, that keeps sending invalid calls is
    /// refused unread for a while, and audited once for it.
    pub(super) fn flooded(&self, call: &Call<'_>) -> Option<CallToolResponse> {
        let now = self.clock.now();
        let (over, whose) = match self.refusals.check(&call.budget_key, now) {
            Some(over) => (over, "this session"),
            None => (
                self.principal_refusals
                    .check(&call.cx.caller.principal, now)?,
                "this principal's sessions",
            ),
        };
        Some(call.refuse(Refusal::Flooded {
            whose,
            retry_after: over.retry_after,
            audit: over.audit,
        }))
    }

    /// Take the call's rate-limit slots. In shadow mode a full limit (or a store that cannot be
    /// reached) is remembered as the refusal not enforced, and the call goes on.
    pub(super) async fn reserve(
        &self,
        call: &Call<'_>,
        decision: &Decision<'_>,
        facts: &CallFacts<'_>,
        shadowed: &mut Option<Refusal>,
    ) -> Result<Reservation, Refusal> {
        // A call the policy would refuse (shadow mode) takes no slot.
        let limits: &[&CompiledLimit] = if shadowed.is_some() {
            &[]
        } else {
            &decision.limits
        };
        let basis = decision.basis.to_string();
        let limited = |limit: &str, reason: String| Refusal::RateLimited {
            basis: basis.clone(),
            limit: limit.into(),
            reason,
        };
        let refusal = match (crate::limits::blocking(limits), counted(limits, facts)) {
            (Some(l), _) => limited(&l.id, crate::limits::blocked_reason(l)),
            (None, Err(e)) => limited(e.limit(), e.to_string()),
            (None, Ok(counters)) => match crate::limits::never_fits(&counters) {
                Some(c) => limited(&c.limit.id, crate::limits::over_budget_reason(c)),
                None => match self.store.try_acquire(&counters).await {
                    Ok(Ok(r)) => return Ok(r),
                    Ok(Err(e)) => limited(&e.limit_id, e.reason()),
                    Err(e) => Refusal::store_down(&e, decision.action.as_str(), &basis),
                },
            },
        };
        if !self.shadow(&call.policy) {
            return Err(refusal);
        }
        *shadowed = Some(refusal);
        Ok(Reservation::None)
    }
}
