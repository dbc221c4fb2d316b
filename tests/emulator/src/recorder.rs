//! Recording a Runtime, Extensions or Telemetry API call: on arrival, when answered, or (on
//! drop) when it never was.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::http::{Body, headers_vec};
use crate::records::{Endpoint, RuntimeCall};
use crate::state::Shared;
use crate::util::epoch_ms;

/// Records a Runtime API call when it is answered, or (on drop) when it never was.
pub(crate) struct Recorder {
    shared: Arc<Shared>,
    call: RuntimeCall,
    recorded: bool,
}

impl Recorder {
    /// Record the arrival of `req` (to `endpoint`, with `id` from its path).
    pub(crate) fn arrived(
        shared: &Arc<Shared>,
        req: &Request<Incoming>,
        endpoint: Endpoint,
        id: Option<String>,
        connection: u64,
    ) -> Self {
        let (seq, generation) = shared.call_started();
        let rec = Recorder {
            shared: Arc::clone(shared),
            recorded: false,
            call: RuntimeCall {
                seq,
                endpoint,
                method: req.method().to_string(),
                path: req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                request_id: id,
                status: None,
                request_headers: headers_vec(req.headers()),
                response_headers: Vec::new(),
                body_len: 0,
                body: Vec::new(),
                response_body: Vec::new(),
                received_ms: epoch_ms(),
                responded_ms: None,
                abandoned: false,
                fault: None,
                generation,
                connection,
                stream: None,
            },
        };
        shared.record_arrival(rec.call.clone());
        rec
    }

    pub(crate) fn call(&mut self) -> &mut RuntimeCall {
        &mut self.call
    }

    /// Take the call over: whoever holds it records it (with [`Shared::record_call`]), even
    /// if this request's task goes away first.
    pub(crate) fn hand_off(mut self) -> RuntimeCall {
        self.recorded = true;
        std::mem::take(&mut self.call)
    }

    pub(crate) fn finish(mut self, response: Response<Body>) -> Response<Body> {
        let mut call = std::mem::take(&mut self.call);
        self.recorded = true;
        call.status = Some(response.status().as_u16());
        call.responded_ms = Some(epoch_ms());
        call.response_headers = headers_vec(response.headers());
        call.response_body = response
            .body()
            .data
            .as_ref()
            .map(|data| data.to_vec())
            .unwrap_or_default();
        self.shared.record_call(call);
        response
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.recorded {
            let mut call = std::mem::take(&mut self.call);
            call.abandoned = true;
            self.shared.record_call(call);
        }
    }
}
