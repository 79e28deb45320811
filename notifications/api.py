"""Inbox API: the signed-in user's own messages; anyone else's is a 404."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)
    # In the language of the request (Accept-Language or the user's choice), like the inbox page.
    subject = serializers.CharField(source="subject_text", read_only=True)
    body = serializers.CharField(source="body_text", read_only=True)

    class Meta:
        model = Notification
        fields = ("id", "kind", "subject", "body", "link", "created_at", "read_at", "is_read")
        read_only_fields = fields


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """In-site messages (the inbox channel), unread first."""

    serializer_class = NotificationSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.inbox_for(self.request.user)

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.mark_read(notification=self.get_object(), user=request.user)
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None, responses={200: inline_serializer("ReadAllResponse", {"marked": serializers.IntegerField()})}
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.mark_all_read(user=request.user)})
