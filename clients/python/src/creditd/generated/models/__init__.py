""" Contains all the data models used in inputs/outputs """

from .add_member_request import AddMemberRequest
from .adjustment_request import AdjustmentRequest
from .alert_level_type_0 import AlertLevelType0
from .alert_level_type_1 import AlertLevelType1
from .alert_level_view import AlertLevelView
from .alerts_request import AlertsRequest
from .alerts_view import AlertsView
from .api_key_member import ApiKeyMember
from .api_key_member_kind import ApiKeyMemberKind
from .api_key_service import ApiKeyService
from .api_key_service_kind import ApiKeyServiceKind
from .auto_top_up_rule import AutoTopUpRule
from .auto_top_up_status import AutoTopUpStatus
from .auto_top_up_view import AutoTopUpView
from .balance import Balance
from .balance_at import BalanceAt
from .balance_view import BalanceView
from .batch_item import BatchItem
from .batch_item_body_type_0 import BatchItemBodyType0
from .batch_request import BatchRequest
from .batch_response import BatchResponse
from .batch_result_type_0 import BatchResultType0
from .batch_result_type_1 import BatchResultType1
from .billing_request import BillingRequest
from .broken_link import BrokenLink
from .buy_more_request import BuyMoreRequest
from .buy_more_result import BuyMoreResult
from .cap_set import CapSet
from .cap_subject_type_0 import CapSubjectType0
from .cap_subject_type_1 import CapSubjectType1
from .cap_subject_type_2 import CapSubjectType2
from .cap_view import CapView
from .caps import Caps
from .catalogue_list import CatalogueList
from .catalogue_plan import CataloguePlan
from .catalogue_plan_request import CataloguePlanRequest
from .check_answer import CheckAnswer
from .check_request import CheckRequest
from .check_request_dimensions_type_0 import CheckRequestDimensionsType0
from .conversation import Conversation
from .conversation_count import ConversationCount
from .conversation_group import ConversationGroup
from .conversation_report import ConversationReport
from .conversation_request import ConversationRequest
from .conversation_started import ConversationStarted
from .create_endpoint_request import CreateEndpointRequest
from .create_key_request import CreateKeyRequest
from .create_org_request import CreateOrgRequest
from .credit_kind import CreditKind
from .credit_request import CreditRequest
from .debit_request import DebitRequest
from .deliveries import Deliveries
from .delivery_status_name import DeliveryStatusName
from .delivery_view import DeliveryView
from .draw import Draw
from .effective import Effective
from .endpoint_created import EndpointCreated
from .endpoint_deleted import EndpointDeleted
from .endpoint_found import EndpointFound
from .endpoint_view import EndpointView
from .endpoints import Endpoints
from .error import Error
from .error_detail import ErrorDetail
from .event import Event
from .event_ctx import EventCtx
from .event_kind import EventKind
from .export_format import ExportFormat
from .export_layout import ExportLayout
from .export_order import ExportOrder
from .extend_request import ExtendRequest
from .forecast import Forecast
from .free_pools import FreePools
from .funded_child import FundedChild
from .funding import Funding
from .funding_view import FundingView
from .health import Health
from .history_fields import HistoryFields
from .hold_request import HoldRequest
from .hold_request_dimensions_type_0 import HoldRequestDimensionsType0
from .key_created import KeyCreated
from .key_kind import KeyKind
from .key_scope_type_0 import KeyScopeType0
from .key_scope_type_0_kind import KeyScopeType0Kind
from .key_scope_type_1 import KeyScopeType1
from .key_scope_type_1_kind import KeyScopeType1Kind
from .key_view_member import KeyViewMember
from .key_view_member_kind import KeyViewMemberKind
from .key_view_service import KeyViewService
from .key_view_service_kind import KeyViewServiceKind
from .keys import Keys
from .low_balance import LowBalance
from .me import Me
from .member import Member
from .member_removed import MemberRemoved
from .member_view import MemberView
from .members import Members
from .notification import Notification
from .notification_kind import NotificationKind
from .notifications import Notifications
from .op_name import OpName
from .open_api_document import OpenApiDocument
from .open_hold_at import OpenHoldAt
from .org_info import OrgInfo
from .org_settings import OrgSettings
from .own_usage import OwnUsage
from .page import Page
from .patch_member_request import PatchMemberRequest
from .pending_top_up import PendingTopUp
from .plan import Plan
from .plan_change_request import PlanChangeRequest
from .plan_change_result import PlanChangeResult
from .plan_changed import PlanChanged
from .plan_view import PlanView
from .pool import Pool
from .pool_balances import PoolBalances
from .price import Price
from .price_book import PriceBook
from .price_book_draft import PriceBookDraft
from .price_book_list import PriceBookList
from .price_book_version import PriceBookVersion
from .price_line import PriceLine
from .price_line_dimensions import PriceLineDimensions
from .pricing import Pricing
from .pricing_dimensions import PricingDimensions
from .put_plan_request import PutPlanRequest
from .range_name import RangeName
from .record import Record
from .record_kind import RecordKind
from .record_status import RecordStatus
from .refund_request import RefundRequest
from .release_request import ReleaseRequest
from .reversal_policy import ReversalPolicy
from .reverse_request import ReverseRequest
from .role import Role
from .rollover_type_0 import RolloverType0
from .rollover_type_0_policy import RolloverType0Policy
from .rollover_type_1 import RolloverType1
from .rollover_type_1_policy import RolloverType1Policy
from .rollover_type_2 import RolloverType2
from .rollover_type_2_policy import RolloverType2Policy
from .rollover_type_3 import RolloverType3
from .rollover_type_3_policy import RolloverType3Policy
from .seed_event import SeedEvent
from .seed_event_metadata_type_0 import SeedEventMetadataType0
from .seed_page import SeedPage
from .set_cap_request import SetCapRequest
from .settings_patch import SettingsPatch
from .settle_request import SettleRequest
from .statement import Statement
from .statement_balance import StatementBalance
from .statement_line import StatementLine
from .status import Status
from .summary import Summary
from .summary_view import SummaryView
from .threshold_request import ThresholdRequest
from .threshold_set import ThresholdSet
from .tier import Tier
from .tier_part import TierPart
from .top_up_cap import TopUpCap
from .top_up_pause import TopUpPause
from .transfer_request import TransferRequest
from .transfer_view import TransferView
from .usage_entry import UsageEntry
from .usage_group import UsageGroup
from .usage_report import UsageReport
from .usage_request import UsageRequest
from .usage_request_dimensions_type_0 import UsageRequestDimensionsType0
from .verify_report import VerifyReport
from .webhook_type_name import WebhookTypeName
from .write_result import WriteResult

__all__ = (
    "AddMemberRequest",
    "AdjustmentRequest",
    "AlertLevelType0",
    "AlertLevelType1",
    "AlertLevelView",
    "AlertsRequest",
    "AlertsView",
    "ApiKeyMember",
    "ApiKeyMemberKind",
    "ApiKeyService",
    "ApiKeyServiceKind",
    "AutoTopUpRule",
    "AutoTopUpStatus",
    "AutoTopUpView",
    "Balance",
    "BalanceAt",
    "BalanceView",
    "BatchItem",
    "BatchItemBodyType0",
    "BatchRequest",
    "BatchResponse",
    "BatchResultType0",
    "BatchResultType1",
    "BillingRequest",
    "BrokenLink",
    "BuyMoreRequest",
    "BuyMoreResult",
    "Caps",
    "CapSet",
    "CapSubjectType0",
    "CapSubjectType1",
    "CapSubjectType2",
    "CapView",
    "CatalogueList",
    "CataloguePlan",
    "CataloguePlanRequest",
    "CheckAnswer",
    "CheckRequest",
    "CheckRequestDimensionsType0",
    "Conversation",
    "ConversationCount",
    "ConversationGroup",
    "ConversationReport",
    "ConversationRequest",
    "ConversationStarted",
    "CreateEndpointRequest",
    "CreateKeyRequest",
    "CreateOrgRequest",
    "CreditKind",
    "CreditRequest",
    "DebitRequest",
    "Deliveries",
    "DeliveryStatusName",
    "DeliveryView",
    "Draw",
    "Effective",
    "EndpointCreated",
    "EndpointDeleted",
    "EndpointFound",
    "Endpoints",
    "EndpointView",
    "Error",
    "ErrorDetail",
    "Event",
    "EventCtx",
    "EventKind",
    "ExportFormat",
    "ExportLayout",
    "ExportOrder",
    "ExtendRequest",
    "Forecast",
    "FreePools",
    "FundedChild",
    "Funding",
    "FundingView",
    "Health",
    "HistoryFields",
    "HoldRequest",
    "HoldRequestDimensionsType0",
    "KeyCreated",
    "KeyKind",
    "Keys",
    "KeyScopeType0",
    "KeyScopeType0Kind",
    "KeyScopeType1",
    "KeyScopeType1Kind",
    "KeyViewMember",
    "KeyViewMemberKind",
    "KeyViewService",
    "KeyViewServiceKind",
    "LowBalance",
    "Me",
    "Member",
    "MemberRemoved",
    "Members",
    "MemberView",
    "Notification",
    "NotificationKind",
    "Notifications",
    "OpenApiDocument",
    "OpenHoldAt",
    "OpName",
    "OrgInfo",
    "OrgSettings",
    "OwnUsage",
    "Page",
    "PatchMemberRequest",
    "PendingTopUp",
    "Plan",
    "PlanChanged",
    "PlanChangeRequest",
    "PlanChangeResult",
    "PlanView",
    "Pool",
    "PoolBalances",
    "Price",
    "PriceBook",
    "PriceBookDraft",
    "PriceBookList",
    "PriceBookVersion",
    "PriceLine",
    "PriceLineDimensions",
    "Pricing",
    "PricingDimensions",
    "PutPlanRequest",
    "RangeName",
    "Record",
    "RecordKind",
    "RecordStatus",
    "RefundRequest",
    "ReleaseRequest",
    "ReversalPolicy",
    "ReverseRequest",
    "Role",
    "RolloverType0",
    "RolloverType0Policy",
    "RolloverType1",
    "RolloverType1Policy",
    "RolloverType2",
    "RolloverType2Policy",
    "RolloverType3",
    "RolloverType3Policy",
    "SeedEvent",
    "SeedEventMetadataType0",
    "SeedPage",
    "SetCapRequest",
    "SettingsPatch",
    "SettleRequest",
    "Statement",
    "StatementBalance",
    "StatementLine",
    "Status",
    "Summary",
    "SummaryView",
    "ThresholdRequest",
    "ThresholdSet",
    "Tier",
    "TierPart",
    "TopUpCap",
    "TopUpPause",
    "TransferRequest",
    "TransferView",
    "UsageEntry",
    "UsageGroup",
    "UsageReport",
    "UsageRequest",
    "UsageRequestDimensionsType0",
    "VerifyReport",
    "WebhookTypeName",
    "WriteResult",
)
