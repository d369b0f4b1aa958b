//! One kind of request as a Leptos action: its pending flag, its outcome, and how a failure
//! becomes what the page shows (or, for a stale page, a quiet redraw).

use leptos::prelude::*;

use contracts::codes;

use super::{Kind, follow::reload};
use crate::announce::focus_soon;
use crate::errors::{ApiClientError, Recovery, UserError, describe};
use crate::flow::{Flow, Route};
use crate::state::AppState;

/// A failed request, with its input so that it can be repeated.
#[derive(Debug, Clone)]
pub struct Failed<I> {
    pub error: UserError,
    pub input: I,
}

/// One kind of request: its action, with its pending flag and outcome read once (each call to
/// `Action::pending` or `Action::value` makes a new signal).
pub(super) struct Act<I: 'static> {
    pub(super) action: Action<I, Result<(), Failed<I>>>,
    pub(super) pending: Memo<bool>,
    pub(super) outcome: MappedSignal<Option<Result<(), Failed<I>>>>,
}

impl<I> Clone for Act<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Act<I> {}

impl<I: Clone + 'static> Act<I> {
    /// The failure of the last run, if it failed.
    pub(super) fn error(self) -> Option<UserError> {
        self.outcome.with(|outcome| match outcome {
            Some(Err(failed)) => Some(failed.error.clone()),
            _ => None,
        })
    }

    /// The input of the last run, if it failed.
    pub(super) fn failed_input(self) -> Option<I> {
        self.outcome.with_untracked(|outcome| match outcome {
            Some(Err(failed)) => Some(failed.input.clone()),
            _ => None,
        })
    }
}

/// An action of `kind` running `run`; a failure becomes UI state through [`failed`].
pub(super) fn act<I, Fut>(app: AppState, kind: Kind, run: impl Fn(I) -> Fut + 'static) -> Act<I>
where
    I: Clone + 'static,
    Fut: Future<Output = Result<(), ApiClientError>> + 'static,
{
    let action = Action::new_local(move |input: &I| {
        let input = input.clone();
        let running = run(input.clone());
        async move {
            match running.await {
                Ok(()) => Ok(()),
                // Another tab moved the session on: redraw from the server, no contradicting alert.
                Err(error) if is_out_of_step(&error) => {
                    app.notice.set(Some(
                        "This session changed in another tab; here is where it stands now."
                            .to_owned(),
                    ));
                    reload(app).await;
                    Ok(())
                }
                Err(error) => Err(Failed {
                    error: failed(app, kind, &error),
                    input,
                }),
            }
        }
    });
    Act {
        action,
        pending: action.pending(),
        outcome: action.value(),
    }
}

/// Codes that mean the page's picture of the session is stale, not that the request was wrong.
fn is_out_of_step(error: &ApiClientError) -> bool {
    matches!(
        error.code(),
        Some(codes::REFINEMENT_COMPLETE | codes::REFINEMENT_INCOMPLETE | codes::INVALID_STEP)
    )
}

/// What a failed request means for the page. A session that is gone sends the person back to
/// the start with the idea still in the field; anything else is shown as the server put it.
fn failed(app: AppState, kind: Kind, error: &ApiClientError) -> UserError {
    let shown = if error.is_session_gone() && kind != Kind::StartOver {
        if let Some(idea) = app.flow.with_untracked(|f| f.idea().map(str::to_owned)) {
            app.draft.idea.set(idea);
        }
        app.following.set(None);
        app.flow.update(Flow::on_no_session);
        app.go(Route::Start);
        UserError {
            message: "Your session has ended, so the answers are gone. Your idea is still in the field: start again.".to_owned(),
            recovery: Recovery::Restart,
        }
    } else {
        describe(error)
    };
    if kind != Kind::Revise {
        focus_soon("request-error");
    }
    shown
}
