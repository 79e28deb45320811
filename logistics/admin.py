"""Staff set up stations and appoint agents here (through the services, so the user's role follows).
Parcels, shipments and tracking events are read-only: they change only through logistics.services."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import Agent, Parcel, Review, Shipment, Station, TrackingEvent


class AgentInline(admin.TabularInline):
    model = Agent
    extra = 0
    fields = ("user", "active", "appointed_at")
    readonly_fields = ("user", "appointed_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # appoint through "Agents", which makes the user an agent


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("name", "cold_store", "phone", "opening_hours")
    search_fields = ("name", "villages__name")
    filter_horizontal = ("villages",)
    inlines = [AgentInline]


class AgentAdminForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = ("user", "station", "active")

    def clean_user(self):
        user = self.cleaned_data["user"]
        problem = services.appointment_problem(user)
        if problem:
            raise ValidationError(problem)
        return user


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    list_display = ("user", "station", "active", "appointed_at")
    list_filter = ("active", "station")
    list_select_related = ("user", "station")
    search_fields = ("user__username", "user__display_name", "station__name")
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        if change and not {"user", "station"} & set(form.changed_data):
            obj.save()  # only the active flag changed
            return
        # The service makes the user an agent too; the form has already refused whom it would refuse.
        agent = services.appoint_agent(actor=request.user, station=obj.station, user=obj.user)
        obj.pk = agent.pk
        if not obj.active:
            Agent.objects.filter(pk=agent.pk).update(active=False)


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ("occurred_at", "kind", "problem", "location", "actor", "note", "photo")
    readonly_fields = fields


@admin.register(Parcel)
class ParcelAdmin(ReadOnlyAdmin):
    list_display = ("code", "status", "station", "destination_city", "cold_chain", "handed_over_at", "delivered_at")
    list_filter = ("status", "station", "cold_chain")
    list_select_related = ("station",)
    search_fields = ("code", "shop_order__order__number")
    exclude = ("delivery_code",)  # the buyer's secret: staff do not need to read it
    inlines = [TrackingEventInline]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ("code", "status", "station", "destination", "carrier", "tracking_number", "departed_at")
    list_filter = ("status", "station")
    list_select_related = ("station",)
    search_fields = ("code", "tracking_number")


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("shop_order", "rating", "created_at", "replied_at")
    list_filter = ("rating",)
    search_fields = ("shop_order__order__number", "text")
    readonly_fields = ("shop_order", "buyer", "rating", "created_at", "replied_at", "reply")
    fields = ("shop_order", "buyer", "rating", "text", "photo", "reply", "replied_at", "created_at")

    def has_add_permission(self, request, obj=None):
        return False

