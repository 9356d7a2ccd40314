//! OTLP/gRPC `TraceService/Export`, served by tonic on the receiver's port.
//!
//! Written by hand rather than with the generated `TraceServiceServer` for one reason: the
//! generated server decodes with tonic-prost's codec, which answers a malformed message with
//! `INTERNAL`; the OTLP spec asks for `INVALID_ARGUMENT`, which clients do not retry.

use std::convert::Infallible;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, StdError, http};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use prost::bytes::Buf;

use super::budget;
use super::ingest::{Ingest, TRIAL_HEADER};
use super::store::TrialKey;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The gRPC trace service.
#[derive(Clone)]
pub(crate) struct TraceGrpc {
    pub(crate) ingest: Ingest,
    pub(crate) max_message: usize,
    pub(crate) max_decoded: usize,
}

impl NamedService for TraceGrpc {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl<B> Service<http::Request<B>> for TraceGrpc
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if req.uri().path() != EXPORT_PATH {
                return Ok(Status::unimplemented("only TraceService/Export is served").into_http());
            }
            let mut grpc = Grpc::new(OtlpCodec {
                max_decoded: this.max_decoded,
            })
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(this.max_message);
            Ok(grpc.unary(Export(this.ingest), req).await)
        })
    }
}

struct Export(Ingest);

impl UnaryService<ExportTraceServiceRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<ExportTraceServiceRequest>) -> Self::Future {
        let ingest = self.0.clone();
        Box::pin(async move {
            let trial = request
                .metadata()
                .get(TRIAL_HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(TrialKey::new);
            Ok(Response::new(
                ingest.accept(request.into_inner(), trial.as_ref()),
            ))
        })
    }
}

/// Prost encoding with decode errors mapped to `INVALID_ARGUMENT`, and the decoded-size budget
/// checked before decoding.
#[derive(Debug, Clone, Copy, Default)]
struct OtlpCodec {
    max_decoded: usize,
}

impl Codec for OtlpCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = ExportTraceServiceRequest;
    type Encoder = OtlpCodec;
    type Decoder = OtlpCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for OtlpCodec {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

impl Decoder for OtlpCodec {
    type Item = ExportTraceServiceRequest;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        // tonic hands over one contiguous buffer; estimate only when that holds.
        if src.chunk().len() == src.remaining()
            && let Some(cost) = budget::protobuf_cost(src.chunk())
            && cost > self.max_decoded
        {
            return Err(Status::resource_exhausted(format!(
                "request would take about {cost} bytes decoded, over the limit of {}",
                self.max_decoded
            )));
        }
        ExportTraceServiceRequest::decode(src)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("malformed OTLP protobuf: {e}")))
    }
}
