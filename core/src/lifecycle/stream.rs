//! The transitions of a streamed response ([`Phase::Stream`](super::Phase::Stream)).

use super::transition::{LaneState, Post, State, StreamStep};
use super::{ErrorCause, InputKind, Misuse};
use crate::error_type::ErrorType;
use crate::id::RequestId;
use crate::time::EpochMillis;

impl<const LANES: usize> State<LANES> {
    pub(super) fn stream_started(
        &mut self,
        now: EpochMillis,
        lane: usize,
        id: &RequestId,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::StreamStarted;
        self.check(lane, INPUT)?;
        if self.lanes[lane]
            .state
            .invocation()
            .map(|inv| &inv.request_id)
            != Some(id)
        {
            return Err(Misuse::WrongRequestId);
        }
        self.clock(now);
        let LaneState::Run {
            inv,
            timer,
            arrived,
            ..
        } = self.take(lane)
        else {
            return Ok(());
        };
        let next = self.finish(inv, Post::Stream { timer, arrived });
        self.put(lane, super::Phase::Run, INPUT, next);
        Ok(())
    }

    pub(super) fn stream_over_limit(
        &mut self,
        now: EpochMillis,
        lane: usize,
        len: u64,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::StreamOverLimit;
        self.check(lane, INPUT)?;
        self.clock(now);
        if let Some(inv) = self.lanes[lane].state.invocation() {
            log::warn!(
                requestId = inv.request_id.as_str(), errorType = ErrorType::RESPONSE_TOO_LARGE;
                "the stream passed {} bytes: ended", super::MAX_STREAM_BYTES
            );
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.end_stream(lane, INPUT, Some(ErrorCause::ResponseTooLarge { len }));
        Ok(())
    }

    /// The stream on `lane` is to end, with `error` in its trailers if set. A stream that is
    /// ending already stays as it is (the first reason wins).
    pub(super) fn end_stream(&mut self, lane: usize, input: InputKind, error: Option<ErrorCause>) {
        self.stay(lane, input, |state| {
            if let LaneState::Stream { step, .. } = state {
                if !matches!(step, StreamStep::End { .. }) {
                    *step = StreamStep::End {
                        error,
                        asked: false,
                    };
                }
            }
        });
    }
}
