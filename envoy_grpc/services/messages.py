"""MessageService: thin servicer over the messaging core."""

from __future__ import annotations

import asyncio

import grpc

from envoy_grpc import errors
from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.messaging import Messaging, StreamClosed
from envoy_grpc.gen.envoy.v1 import messages_pb2, messages_pb2_grpc
from envoy_grpc.services import message_convert as convert
from envoy_grpc.services.convert import timestamp
from envoy_grpc.services.metadata import mark_existing

# A write to a stream that takes longer than this counts as a failed push for the circuit breaker.
PUSH_TIMEOUT = 10.0


class MessageService(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, messaging: Messaging) -> None:
        self.messaging = messaging

    async def SendMessage(
        self, request: messages_pb2.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.Message:
        result = await self.messaging.send(current_caller(), convert.outgoing(request))
        if result.existing:
            mark_existing(context)
            return convert.message(result.message)
        return convert.message(result.message, request.parts)

    async def BatchSendMessages(
        self, request: messages_pb2.BatchSendMessagesRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.BatchSendMessagesResponse:
        batch = [convert.outgoing(m, f"messages[{i}].") for i, m in enumerate(request.messages)]
        results = await self.messaging.send_batch(current_caller(), batch)
        return messages_pb2.BatchSendMessagesResponse(
            messages=[
                convert.message(r.message) if r.existing else convert.message(r.message, m.parts)
                for r, m in zip(results, request.messages, strict=True)
            ]
        )

    async def GetMessage(
        self, request: messages_pb2.GetMessageRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.Message:
        stored, delivery = await self.messaging.get(current_caller(), request.message_id)
        return convert.delivered(delivery) if delivery is not None else convert.message(stored)

    async def ListMessages(
        self, request: messages_pb2.ListMessagesRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.ListMessagesResponse:
        found = await self.messaging.poll(
            current_caller(), request.to, request.since, request.limit, request.include
        )
        return messages_pb2.ListMessagesResponse(
            messages=[convert.delivered(d) for d in found],
            latest_sequence=found[-1].sequence if found else request.since,
        )

    async def ListPendingMessages(
        self, request: messages_pb2.ListPendingMessagesRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.ListPendingMessagesResponse:
        found = await self.messaging.pending(current_caller(), request.agent_id, request.limit)
        return messages_pb2.ListPendingMessagesResponse(
            count=len(found), messages=[convert.delivered(d) for d in found]
        )

    async def SurfaceMessages(
        self, request: messages_pb2.SurfaceMessagesRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.SurfaceMessagesResponse:
        found = await self.messaging.read_inbox(
            current_caller(), request.agent_id, request.limit, request.urgent_only
        )
        return messages_pb2.SurfaceMessagesResponse(
            count=len(found), messages=[convert.delivered(d) for d in found]
        )

    async def AckMessage(
        self, request: messages_pb2.AckMessageRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.AckMessageResponse:
        acked_by = await self.messaging.ack(current_caller(), request.message_id, request.agent_id)
        return messages_pb2.AckMessageResponse(message_id=request.message_id, acked_by=acked_by)

    async def NakMessage(
        self, request: messages_pb2.NakMessageRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.Delivery:
        view = await self.messaging.nak(
            current_caller(), request.message_id, request.agent_id, request.delay_seconds
        )
        return convert.delivery(view)

    async def MarkMessageInProgress(
        self, request: messages_pb2.MarkMessageInProgressRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.Delivery:
        return convert.delivery(
            await self.messaging.in_progress(current_caller(), request.message_id, request.agent_id)
        )

    async def TermMessage(
        self, request: messages_pb2.TermMessageRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.Delivery:
        return convert.delivery(
            await self.messaging.term(current_caller(), request.message_id, request.agent_id)
        )

    async def ListDeliveries(
        self, request: messages_pb2.ListDeliveriesRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.ListDeliveriesResponse:
        views = await self.messaging.deliveries(current_caller(), request.message_id)
        return messages_pb2.ListDeliveriesResponse(
            message_id=request.message_id, deliveries=[convert.delivery(v) for v in views]
        )

    async def Subscribe(  # type: ignore[override]  # grpc.aio also takes a coroutine using context.write
        self, request: messages_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> None:
        """Writes with context.write so a stalled client can be timed out and counted by the circuit."""
        circuits = self.messaging.registry.circuits
        stream = self.messaging.stream(current_caller(), request.agent_id, request.after_sequence)
        # Headers first: the gateway then knows the stream is accepted and can start its SSE response.
        await context.send_initial_metadata(())
        try:
            async for delivery in stream:
                try:
                    await asyncio.wait_for(context.write(convert.delivered(delivery)), PUSH_TIMEOUT)
                except TimeoutError:
                    circuits.record_failure(request.agent_id)
                    raise errors.EnvoyError(
                        grpc.StatusCode.UNAVAILABLE,
                        "STREAM_STALLED",
                        f"a push to {request.agent_id} took longer than {PUSH_TIMEOUT:.0f} s; "
                        f"resume with after_sequence={delivery.sequence - 1}",
                    ) from None
                circuits.record_success(request.agent_id)
                self.messaging.pushed(delivery)
        except StreamClosed:
            raise errors.EnvoyError(
                grpc.StatusCode.UNAVAILABLE,
                "SHUTTING_DOWN",
                "the server is shutting down; reconnect and resume with after_sequence set to the last sequence seen",
            ) from None
        finally:
            await stream.aclose()

    async def CreateTopicSubscription(
        self, request: messages_pb2.CreateTopicSubscriptionRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.TopicSubscription:
        created = await self.messaging.subscribe_topic(current_caller(), request.agent_id, request.pattern)
        return messages_pb2.TopicSubscription(
            agent_id=request.agent_id, pattern=request.pattern, created_at=timestamp(created)
        )

    async def ListTopicSubscriptions(
        self, request: messages_pb2.ListTopicSubscriptionsRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.ListTopicSubscriptionsResponse:
        found = await self.messaging.topic_subscriptions(current_caller(), request.agent_id)
        return messages_pb2.ListTopicSubscriptionsResponse(
            subscriptions=[
                messages_pb2.TopicSubscription(agent_id=request.agent_id, pattern=p, created_at=timestamp(at))
                for p, at in found
            ]
        )

    async def DeleteTopicSubscription(
        self, request: messages_pb2.DeleteTopicSubscriptionRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.DeleteTopicSubscriptionResponse:
        await self.messaging.unsubscribe_topic(current_caller(), request.agent_id, request.pattern)
        return messages_pb2.DeleteTopicSubscriptionResponse(unsubscribed=True)

    async def CreateProjectSubscription(
        self, request: messages_pb2.CreateProjectSubscriptionRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.CreateProjectSubscriptionResponse:
        caller = current_caller()
        agent_id = request.agent_id or caller.agent_id or ""
        if not agent_id:
            raise errors.missing_fields(["agent_id"])
        await self.messaging.subscribe_topic(caller, agent_id, self.messaging.project_topic(request.project))
        return messages_pb2.CreateProjectSubscriptionResponse(
            subscribed=True, agent_id=agent_id, project=request.project
        )

    async def ListProjectSubscriptions(
        self, request: messages_pb2.ListProjectSubscriptionsRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.ListProjectSubscriptionsResponse:
        found = await self.messaging.topic_subscriptions(current_caller(), request.agent_id)
        projects = [
            p[len("project.") :]
            for p, _ in found
            if p.startswith("project.") and "*" not in p and ">" not in p
        ]
        return messages_pb2.ListProjectSubscriptionsResponse(
            agent_id=request.agent_id, subscriptions=projects
        )

    async def DeleteProjectSubscription(
        self, request: messages_pb2.DeleteProjectSubscriptionRequest, unused_context: grpc.aio.ServicerContext
    ) -> messages_pb2.DeleteProjectSubscriptionResponse:
        topic = self.messaging.project_topic(request.project)
        await self.messaging.unsubscribe_topic(current_caller(), request.agent_id, topic)
        return messages_pb2.DeleteProjectSubscriptionResponse(unsubscribed=True)
