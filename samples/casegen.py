"""Deterministic generator of ualscope's FICTIONAL sample case (tenant ``fabrikam.example``).

Three layers, all standard library + orjson:

* :class:`RecordFactory` turns an access context (:class:`Ctx`) and a time into one AuditData
  dict shaped like a real Unified Audit Log record (key order, 2022 field set and quirks as in
  ``formats.md``): MailItemsAccessed Bind (RecordType 50) and Sync (RecordType 2, ``Item``
  variant), Send / SendAs / SendOnBehalf, Create, Update, MoveToDeletedItems, SoftDelete,
  HardDelete, UpdateInboxRules, New-InboxRule (RecordType 1) and UserLoggedIn (RecordType 15).
* :func:`build_case` writes the business-email-compromise story of the bundled sample case
  (six mailboxes, 2022-03-20..2022-04-02) and returns the records with the ground truth tags.
* :class:`ScaledCase` streams AuditData dicts for a synthetic case of any size (many mailboxes,
  one attacked) without holding them in memory; :func:`write_purview_csv` (and the per-record
  :func:`purview_csv_row` / :func:`purview_csv_line_bytes`) render the new-Purview CSV shape,
  for benchmarks.

Everything is fictional: reserved ``.example`` domains, documentation IP ranges
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). Randomness comes from one
seeded ``random.Random``; the same seed gives the same records, byte for byte.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import orjson

Record = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Tenant and well-known constants
# --------------------------------------------------------------------------------------------

DOMAIN = "fabrikam.example"
ORGANIZATION_NAME = "fabrikam.onmicrosoft.example"
NAMESPACE = uuid.UUID("6f0a2b8e-3c1d-4e5f-9a7b-1c2d3e4f5a6b")
ORGANIZATION_ID = str(uuid.uuid5(NAMESPACE, "organization/" + ORGANIZATION_NAME))

CASE_SEED = 20220328
CASE_START = datetime(2022, 3, 20, tzinfo=UTC)
CASE_DAYS = 14  # 2022-03-20 .. 2022-04-02 inclusive

# Microsoft notice MC382148: no SendAs / SendOnBehalf records at all in this interval.
MC382148_START = datetime(2022, 1, 28, tzinfo=UTC)
MC382148_END = datetime(2022, 3, 26, 23, 59, 59, tzinfo=UTC)

APP_EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online / OWA
APP_GRAPH = "00000003-0000-0000-c000-000000000000"
APP_OFFICE = "d3590ed6-52b3-4102-aeff-aad2292ab01c"  # Microsoft Office (classic Outlook)
APP_OUTLOOK_MOBILE = "27922004-5251-4030-b22d-91ecd9a37ea4"
APP_SUBSTRATE = "13937bba-652e-4c46-b222-3003f4d1ff97"  # Substrate Context Service
APP_TEAMS = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
APP_OWA_SIGNIN = "00000002-0000-0ff1-ce00-000000000000"

CIS_MAPI = "Client=MSExchangeRPC"
CIS_OWA = "Client=OWA;Action=ViaProxy"
CIS_IOS = "Client=OutlookService;Outlook-iOS/2.0;"
CIS_ANDROID = "Client=OutlookService;Outlook-Android/2.0;"
CIS_REST = "Client=REST;Client=RESTSystem;;"

UA_OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.14326; Pro)"
UA_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/99.0.4844.82 Safari/537.36 Edg/99.0.1150.46"
)
UA_SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/15.3 Safari/605.1.15"
)
UA_FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:98.0) Gecko/20100101 Firefox/98.0"
UA_IOS = "Outlook-iOS/709.2231410.prod.iphone (4.2210.0)"
UA_ANDROID = "Outlook-Android/2.0"
UA_PYTHON = "python-requests/2.27.1"

HOUR = timedelta(hours=1)

FOLDER_CODES = {
    "\\Inbox": "EM",
    "\\Sent Items": "EJ",
    "\\Drafts": "EP",
    "\\Deleted Items": "EL",
    "\\Archive": "Fc",
    "\\Archive\\Payments": "Fd",
    "\\Recoverable Items\\Deletions": "Eb",
    "\\RSS Subscriptions": "Fe",
}


def ts(t: datetime) -> str:
    """AuditData.CreationTime format: UTC, no zone suffix, no fraction."""
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def iso_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Random identifiers
# --------------------------------------------------------------------------------------------


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits, as uuid.UUID does
_V4_SET = (4 << 76) | (0x8000 << 48)


class Rand:
    """Every random choice of a case goes through one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def guid(self) -> str:
        """Same text as ``str(uuid.UUID(int=getrandbits(128), version=4))``, faster."""
        h = f"{(self.r.getrandbits(128) & _V4_CLEAR) | _V4_SET:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def b64(self, nchars: int) -> str:
        """Base64 text of ``nchars`` characters (Exchange store ids contain ``+`` and ``/``)."""
        nbytes = nchars * 3 // 4 + 3
        raw = self.r.getrandbits(8 * nbytes).to_bytes(nbytes, "big")
        return base64.b64encode(raw).decode()[:nchars]

    def b64url(self, nchars: int) -> str:
        return self.b64(nchars).replace("+", "-").replace("/", "_")

    def hexu(self, nchars: int) -> str:
        return f"{self.r.getrandbits(4 * nchars):0{nchars}X}"

    def size(self, lo: int = 3_800, hi: int = 260_000) -> int:
        # log-uniform message sizes: many small mails, a few large ones with attachments
        return int(lo * (hi / lo) ** self.r.random())


# --------------------------------------------------------------------------------------------
# Mailboxes, messages, access contexts
# --------------------------------------------------------------------------------------------


@dataclass
class Message:
    imid: str
    subject: str
    size: int
    received: datetime
    item_id: str
    folder: str
    finance: bool = False


@dataclass
class Mailbox:
    alias: str
    display_name: str
    upn: str
    guid: str
    sid: str
    puid: str
    object_id: str
    server: str
    build: str
    shared: bool
    office_ip: str
    home_ip: str
    mobile_ip: str
    client_version: str
    rest_ips: tuple[str, ...]
    mbx_key: str
    db_key: str
    device_aad: str
    mobile_aad: str
    folders: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)

    @property
    def originating_server(self) -> str:
        return f"{self.server} ({self.build})\r\n"

    def folder_id(self, path: str) -> str:
        return self.folders[path]


@dataclass
class Ctx:
    """One access context: who, on which mailbox, through which client, from where."""

    actor: Mailbox
    mailbox: Mailbox
    client: str  # mapi | owa | mobile | rest
    ip: str
    session_id: str | None
    logon_type: int
    client_info: str
    label: str
    user_id: str = ""
    app_id: str | None = None
    client_app_id: str | None = None
    client_version: str | None = None
    aac: dict[str, str] | None = None
    user_type: int = 0
    # envelope templates of a RecordFactory(cache_envelopes=True); never copied by replace()
    templates: dict[tuple[Any, ...], Record] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.user_id:
            self.user_id = self.actor.upn

    @property
    def key(self) -> tuple[str, ...]:
        """The MailItemsAccessed de-duplication context (folder and access type come on top)."""
        return (
            self.ip,
            self.client_info,
            str(self.logon_type),
            self.mailbox.upn,
            self.user_id.lower(),
            self.session_id or "",
        )


# --------------------------------------------------------------------------------------------
# Record factory
# --------------------------------------------------------------------------------------------

When = datetime | str  # a datetime, or CreationTime text already formatted

PROPS_BIND = [
    {"Name": "MailAccessType", "Value": "Bind"},
    {"Name": "IsThrottled", "Value": "False"},
]
PROPS_BIND_THROTTLED = [
    {"Name": "MailAccessType", "Value": "Bind"},
    {"Name": "IsThrottled", "Value": "True"},
]
PROPS_SYNC = [
    {"Name": "MailAccessType", "Value": "Sync"},
    {"Name": "IsThrottled", "Value": "False"},
]
_PROPS_KEY = {id(PROPS_BIND): "bind", id(PROPS_BIND_THROTTLED): "thr", id(PROPS_SYNC): "sync"}


class RecordFactory:
    """Builds AuditData dicts with the key order of real Exchange Online records."""

    def __init__(self, rnd: Rand, *, cache_envelopes: bool = False) -> None:
        """``cache_envelopes`` reuses one envelope per context and operation (fast, for
        generated bulk data; records then share their nested read-only objects)."""
        self.rnd = rnd
        self.cache_envelopes = cache_envelopes

    # ---- helpers -------------------------------------------------------------------------

    def item_id(self, mbx: Mailbox, folder: str) -> str:
        code = FOLDER_CODES.get(folder, "EM")
        return (
            f"RgAAAAB{mbx.mbx_key}BwC{mbx.db_key}AAAAAAE{code}AAC{mbx.db_key[:14]}"
            f"{self.rnd.b64(8)}AAAJ"
        )

    def _request_id(self, ctx: Ctx) -> str | None:
        if ctx.client == "mapi":
            return "{" + self.rnd.guid().upper() + "}"
        if ctx.client == "mobile":
            return str(self.rnd.r.randint(100, 9999))
        if ctx.client == "rest":
            return self.rnd.guid()
        return None

    def _envelope(
        self,
        ctx: Ctx,
        t: When,
        operation: str,
        record_type: int,
        *,
        with_client_ip: bool,
        op_props: list[dict[str, str]] | None = None,
        with_request_id: bool = False,
    ) -> Record:
        pk = _PROPS_KEY.get(id(op_props), "") if op_props is not None else None
        if self.cache_envelopes and pk != "":
            key = (operation, record_type, with_client_ip, with_request_id, pk)
            tpl = ctx.templates.get(key)
            if tpl is None:
                tpl = ctx.templates[key] = self._build_envelope(
                    ctx, t, operation, record_type, with_client_ip, op_props, with_request_id
                )
            d = tpl.copy()
            d["CreationTime"] = t if isinstance(t, str) else ts(t)
            d["Id"] = self.rnd.guid()
            if "ClientRequestId" in d:
                d["ClientRequestId"] = self._request_id(ctx)
            return d
        return self._build_envelope(
            ctx, t, operation, record_type, with_client_ip, op_props, with_request_id
        )

    def _build_envelope(
        self,
        ctx: Ctx,
        t: When,
        operation: str,
        record_type: int,
        with_client_ip: bool,
        op_props: list[dict[str, str]] | None,
        with_request_id: bool,
    ) -> Record:
        d: Record = {}
        if ctx.aac is not None:
            d["AppAccessContext"] = dict(ctx.aac)
        d["CreationTime"] = t if isinstance(t, str) else ts(t)
        d["Id"] = self.rnd.guid()
        d["Operation"] = operation
        d["OrganizationId"] = ORGANIZATION_ID
        d["RecordType"] = record_type
        d["ResultStatus"] = "Succeeded"
        d["UserKey"] = ctx.actor.puid
        d["UserType"] = ctx.user_type
        d["Version"] = 1
        d["Workload"] = "Exchange"
        if with_client_ip:
            d["ClientIP"] = ctx.ip
        d["UserId"] = ctx.user_id
        if ctx.app_id is not None:
            d["AppId"] = ctx.app_id
        if ctx.client_app_id is not None:
            d["ClientAppId"] = ctx.client_app_id
        d["ClientIPAddress"] = ctx.ip
        d["ClientInfoString"] = ctx.client_info
        if ctx.client == "mapi":
            d["ClientProcessName"] = "OUTLOOK.EXE"
        if with_request_id:
            rid = self._request_id(ctx)
            if rid is not None:
                d["ClientRequestId"] = rid
        if ctx.client_version is not None:
            d["ClientVersion"] = ctx.client_version
        d["ExternalAccess"] = False
        d["InternalLogonType"] = ctx.logon_type
        d["LogonType"] = ctx.logon_type
        d["LogonUserSid"] = ctx.actor.sid
        d["MailboxGuid"] = ctx.mailbox.guid
        if ctx.mailbox.shared:
            d["MailboxOwnerMasterAccountSid"] = "S-1-5-10"
        d["MailboxOwnerSid"] = ctx.mailbox.sid
        d["MailboxOwnerUPN"] = ctx.mailbox.upn
        if op_props is not None:
            d["OperationProperties"] = op_props
        d["OrganizationName"] = ORGANIZATION_NAME
        d["OriginatingServer"] = ctx.mailbox.originating_server
        if ctx.session_id is not None:
            d["SessionId"] = ctx.session_id
        return d

    # ---- MailItemsAccessed ----------------------------------------------------------------

    def mia_bind(
        self,
        ctx: Ctx,
        t: When,
        folders: list[tuple[str, list[Message]]],
        *,
        with_sizes: bool,
        throttled: bool = False,
    ) -> Record:
        props = PROPS_BIND_THROTTLED if throttled else PROPS_BIND
        d = self._envelope(ctx, t, "MailItemsAccessed", 50, with_client_ip=False, op_props=props)
        out = []
        count = 0
        for path, msgs in folders:
            items: list[dict[str, Any]] = []
            for m in msgs:
                fi: dict[str, Any] = {"InternetMessageId": m.imid}
                if with_sizes:
                    fi["SizeInBytes"] = m.size
                items.append(fi)
            count += len(items)
            out.append({"FolderItems": items, "Id": ctx.mailbox.folder_id(path), "Path": path})
        d["Folders"] = out
        d["OperationCount"] = count
        return d

    def mia_sync(self, ctx: Ctx, t: When, folder: str) -> Record:
        props = PROPS_SYNC
        d = self._envelope(ctx, t, "MailItemsAccessed", 2, with_client_ip=False, op_props=props)
        fid = ctx.mailbox.folder_id(folder)
        d["Item"] = {
            "Id": fid,
            "ParentFolder": {
                "Id": fid,
                "Name": folder.rsplit("\\", 1)[-1],
                "Path": "Not Available",
            },
        }
        return d

    # ---- single items (RecordType 2) ------------------------------------------------------

    def _item(self, mbx: Mailbox, m: Message, folder: str, *, unknown_id: bool = False) -> Record:
        return {
            "Id": "Unknown" if unknown_id else m.item_id,
            "InternetMessageId": m.imid,
            "ParentFolder": {"Id": mbx.folder_id(folder), "Path": folder},
            "SizeInBytes": m.size,
            "Subject": m.subject,
        }

    def send(
        self,
        ctx: Ctx,
        t: When,
        m: Message,
        *,
        folder: str = "\\Drafts",
        unknown_id: bool = False,
        attachments: str | None = None,
        operation: str = "Send",
        send_as: tuple[str, str | None] | None = None,
        on_behalf: tuple[str, str] | None = None,
    ) -> Record:
        d = self._envelope(ctx, t, operation, 2, with_client_ip=True, with_request_id=True)
        item = self._item(ctx.mailbox, m, folder, unknown_id=unknown_id)
        if attachments:
            item = {"Attachments": attachments, **item}
        d["Item"] = item
        if send_as is not None:
            smtp, guid = send_as
            if guid is not None:
                d["SendAsUserMailboxGuid"] = guid
            d["SendAsUserSmtp"] = smtp
        if on_behalf is not None:
            smtp, guid = on_behalf
            d["SendOnBehalfOfUserMailboxGuid"] = guid
            d["SendOnBehalfOfUserSmtp"] = smtp
        return d

    def create(self, ctx: Ctx, t: When, m: Message) -> Record:
        d = self._envelope(ctx, t, "Create", 2, with_client_ip=True, with_request_id=True)
        d["Item"] = {
            "Id": m.item_id,
            "InternetMessageId": m.imid,
            "IsRecord": False,
            "ParentFolder": {"Id": ctx.mailbox.folder_id("\\Drafts"), "Path": "\\Drafts"},
            "SizeInBytes": m.size,
            "Subject": m.subject,
        }
        return d

    def update(self, ctx: Ctx, t: When, m: Message, modified: list[str]) -> Record:
        d = self._envelope(ctx, t, "Update", 2, with_client_ip=True, with_request_id=True)
        d["Item"] = self._item(ctx.mailbox, m, m.folder)
        d["ModifiedProperties"] = modified
        return d

    def update_inbox_rules(
        self, ctx: Ctx, t: When, rule_name: str, forward_to: str, condition: str
    ) -> Record:
        actions = orjson.dumps(
            [
                {"ActionType": "Forward", "Recipients": [forward_to], "ForwardFlags": "None"},
                {"ActionType": "MoveToFolder", "Folder": "RSS Subscriptions"},
            ]
        ).decode()
        props = [
            {"Name": "RuleOperation", "Value": "ModifyMailboxRule"},
            {"Name": "RuleId", "Value": str(-self.rnd.r.randint(10**17, 10**18))},
            {"Name": "RuleState", "Value": "Enabled"},
            {"Name": "RuleCondition", "Value": condition},
            {"Name": "RuleName", "Value": rule_name},
            {"Name": "RuleProvider", "Value": "RuleOrganizer"},
            {"Name": "RuleActions", "Value": actions},
        ]
        d = self._envelope(
            ctx,
            t,
            "UpdateInboxRules",
            2,
            with_client_ip=True,
            op_props=props,
            with_request_id=True,
        )
        fid = ctx.mailbox.folder_id("\\Inbox")
        d["Item"] = {
            "Id": fid,
            "ImmutableId": "ErrorDuringIdConversion",
            "ParentFolder": {"Id": fid, "Name": "Inbox", "Path": "\\Inbox"},
        }
        return d

    # ---- groups of items (RecordType 3) ---------------------------------------------------

    def group_op(
        self,
        ctx: Ctx,
        t: When,
        operation: str,
        msgs: list[Message],
        folder: str,
        dest: str | None = None,
    ) -> Record:
        d = self._envelope(ctx, t, operation, 3, with_client_ip=True, with_request_id=True)
        items = []
        for m in msgs:
            it: Record = {}
            it["Id"] = m.item_id
            it["InternetMessageId"] = m.imid
            it["ParentFolder"] = {"Id": ctx.mailbox.folder_id(folder), "Path": folder}
            it["Subject"] = m.subject
            items.append(it)
        d["AffectedItems"] = items
        d["CrossMailboxOperation"] = False
        if dest is not None:
            d["DestFolder"] = {"Id": ctx.mailbox.folder_id(dest), "Path": dest}
        d["Folder"] = {"Id": ctx.mailbox.folder_id(folder), "Path": folder}
        return d

    # ---- admin cmdlet (RecordType 1) ------------------------------------------------------

    def new_inbox_rule(
        self,
        ctx: Ctx,
        t: When,
        client_ip_port: str,
        rule_name: str,
        params: list[tuple[str, str]],
    ) -> Record:
        mbx = ctx.mailbox
        d: Record = {
            "CreationTime": t if isinstance(t, str) else ts(t),
            "Id": self.rnd.guid(),
            "Operation": "New-InboxRule",
            "OrganizationId": ORGANIZATION_ID,
            "RecordType": 1,
            "ResultStatus": "True",
            "UserKey": ctx.user_id,
            "UserType": 2,
            "Version": 1,
            "Workload": "Exchange",
            "ClientIP": client_ip_port,
            "ObjectId": (
                "EURPR04A001.PROD.OUTLOOK.EXAMPLE/Microsoft Exchange Hosted Organizations/"
                f"{ORGANIZATION_NAME}/{mbx.alias}\\{rule_name}"
            ),
            "UserId": ctx.user_id,
            "AppId": APP_EXCHANGE,
            "AppPoolName": "MSExchangeOWAAppPool",
            "ClientAppId": "",
            "CorrelationID": "",
            "ExternalAccess": False,
            "OrganizationName": ORGANIZATION_NAME,
            "OriginatingServer": f"{mbx.server} ({mbx.build})",
            "Parameters": [{"Name": k, "Value": v} for k, v in sorted(params)],
            "RequestId": self.rnd.guid(),
            "SessionId": ctx.session_id,
        }
        return d

    # ---- Entra sign-in (RecordType 15) ----------------------------------------------------

    def user_logged_in(
        self,
        user: Mailbox,
        t: When,
        ip: str,
        app_id: str,
        user_agent: str,
        aad_session: str,
        *,
        os_name: str,
        browser: str,
        user_id: str | None = None,
        request_type: str = "OAuth2:Authorize",
    ) -> Record:
        rid = self.rnd.guid()[:-2] + "00"  # Entra request ids end in 00
        upn = user_id or user.upn
        return {
            "CreationTime": t if isinstance(t, str) else ts(t),
            "Id": rid,
            "Operation": "UserLoggedIn",
            "OrganizationId": ORGANIZATION_ID,
            "RecordType": 15,
            "ResultStatus": "Success",
            "UserKey": user.object_id,
            "UserType": 0,
            "Version": 1,
            "Workload": "AzureActiveDirectory",
            "ClientIP": ip,
            "ObjectId": APP_EXCHANGE,
            "UserId": upn,
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [
                {"Name": "ResultStatusDetail", "Value": "Success"},
                {"Name": "UserAgent", "Value": user_agent},
                {"Name": "RequestType", "Value": request_type},
            ],
            "ModifiedProperties": [],
            "Actor": [{"ID": user.object_id, "Type": 0}, {"ID": upn, "Type": 5}],
            "ActorContextId": ORGANIZATION_ID,
            "ActorIpAddress": ip,
            "InterSystemsId": self.rnd.guid(),
            "IntraSystemId": rid,
            "SupportTicketId": "",
            "Target": [{"ID": APP_EXCHANGE, "Type": 0}],
            "TargetContextId": ORGANIZATION_ID,
            "ApplicationId": app_id,
            "DeviceProperties": [
                {"Name": "OS", "Value": os_name},
                {"Name": "BrowserType", "Value": browser},
                {"Name": "IsCompliantAndManaged", "Value": "False"},
                {"Name": "SessionId", "Value": aad_session},
            ],
            "ErrorNumber": "0",
        }


# --------------------------------------------------------------------------------------------
# Message corpus
# --------------------------------------------------------------------------------------------

VENDORS = [
    ("Northwind Traders", "northwind.example"),
    ("Tailspin Toys", "tailspintoys.example"),
    ("Wide World Importers", "wideworldimporters.example"),
    ("Litware Inc.", "litware.example"),
    ("Proseware", "proseware.example"),
    ("Adventure Works", "adventure-works.example"),
    ("Coho Winery", "cohowinery.example"),
    ("Woodgrove Bank", "woodgrovebank.example"),
]

FINANCE_SUBJECTS = [
    "Invoice {inv} from {vendor}",
    "RE: Invoice {inv} – payment status",
    "Overdue invoice {inv} – second reminder",
    "Wire transfer approval – {vendor} ({amount} EUR)",
    "Remittance advice {ref}",
    "Updated bank details for {vendor}",
    "Payment run {date} – for approval",
    "PO {po} approval needed",
    "FW: Statement of account – {vendor}",
    "Q1 2022 cash forecast v{n}",
    "Quarterly VAT return – draft",
    "RE: Supplier onboarding – {vendor} banking form",
    "Zahlungsavis {ref} – {vendor}",
    "Facture {inv} – relance",
]

GENERAL_SUBJECTS = [
    "Team meeting notes",
    "RE: Project Falcon status",
    "Weekly report – week {n}",
    "Lunch on Thursday?",
    "Board pack draft v{n}",
    "Travel booking confirmation",
    "IT maintenance window Saturday",
    "RE: Offsite agenda",
    "Customer escalation – {vendor}",
    "Réunion budget T2",
    "Café catch-up next week?",
    "Präsentation für Montag",
    "RE: Headcount plan",
    "Welcome our new starter",
    "Your parking permit",
    "FW: Conference call details",
    "Contract renewal – {vendor}",
    "Holiday rota",
    "RE: Quick question",
    "Slides for the all-hands",
]


class Corpus:
    """Creates plausible messages (InternetMessageId, subject, size) for a mailbox."""

    def __init__(self, rnd: Rand) -> None:
        self.rnd = rnd
        self.counter = 0

    def subject(self, finance: bool) -> str:
        r = self.rnd.r
        tpl = r.choice(FINANCE_SUBJECTS if finance else GENERAL_SUBJECTS)
        vendor = r.choice(VENDORS)[0]
        return tpl.format(
            inv=f"INV-22-{r.randint(100, 999):04d}",
            vendor=vendor,
            amount=f"{r.randint(3, 480) * 125:,}",
            ref=f"RA{r.randint(100000, 999999)}",
            date=f"2022-03-{r.randint(1, 31):02d}",
            po=f"4500{r.randint(10000, 99999)}",
            n=r.randint(1, 12),
        )

    def imid(self, server: str | None, received: datetime) -> str:
        """An Internet message id in one of the shapes seen on real mail."""
        r = self.rnd.r
        self.counter += 1
        if server is not None:
            return f"<{server}{self.rnd.hexu(25)}@{server}.eurprd04.prod.outlook.example>"
        kind = r.random()
        domain = r.choice(VENDORS)[1]
        if kind < 0.35:
            body = self.rnd.b64(36).replace("/", "=").replace("+", "-")
            return f"<CAJx{body}@mail.{domain}>"
        if kind < 0.6:
            srv = r.choice(["AM9PR07MB7121", "PAXPR10MB5182", "BN8PR12MB3306", "CH2PR11MB4382"])
            region = "namprd12" if srv.startswith(("BN", "CH")) else "eurprd07"
            return f"<{srv}{self.rnd.hexu(25)}@{srv}.{region}.prod.outlook.example>"
        if kind < 0.85:
            stamp = received.strftime("%Y%m%d%H%M%S")
            return f"<{stamp}.{self.rnd.hexu(8)}@mx{r.randint(1, 4)}.{domain}>"
        return (
            f"<0102017f{self.rnd.hexu(8).lower()}-{self.rnd.guid()}-000000"
            "@eu-west-1.amazonses.example>"
        )

    def message(
        self,
        factory: RecordFactory,
        mbx: Mailbox,
        folder: str,
        received: datetime,
        *,
        finance: bool,
        internal: bool,
        subject: str | None = None,
    ) -> Message:
        return Message(
            imid=self.imid(mbx.server if internal else None, received),
            subject=subject or self.subject(finance),
            size=self.rnd.size(),
            received=received,
            item_id=factory.item_id(mbx, folder),
            folder=folder,
            finance=finance,
        )


# --------------------------------------------------------------------------------------------
# The bundled case
# --------------------------------------------------------------------------------------------

PEOPLE = [
    # alias, display name, server, build, office ip, home ip, mobile ip, outlook build
    (
        "megan.bowen",
        "Megan Bowen",
        "DB9PR04MB8462",
        "15.20.5102.018",
        "198.51.100.14",
        "192.0.2.34",
        "192.0.2.214",
        "16.0.14326.20784",
    ),
    (
        "alex.wilber",
        "Alex Wilber",
        "AM6PR04MB5832",
        "15.20.5102.018",
        "198.51.100.11",
        "192.0.2.51",
        "192.0.2.221",
        "16.0.14931.20120",
    ),
    (
        "adele.vance",
        "Adele Vance",
        "DB8PR04MB6570",
        "15.20.5123.016",
        "198.51.100.12",
        "192.0.2.77",
        "192.0.2.230",
        "16.0.14326.20784",
    ),
    (
        "lee.gu",
        "Lee Gu",
        "VI1PR04MB4143",
        "15.20.5102.018",
        "198.51.100.16",
        "192.0.2.90",
        "192.0.2.236",
        "16.0.14931.20120",
    ),
    (
        "diego.siciliani",
        "Diego Siciliani",
        "PAXPR04MB8123",
        "15.20.5123.016",
        "198.51.100.18",
        "192.0.2.105",
        "192.0.2.242",
        "16.0.14827.20198",
    ),
    ("finance", "Finance", "DB9PR04MB9317", "15.20.5102.018", "", "", "", ""),
]

VICTIM = "megan.bowen"
DELEGATE = "adele.vance"
SHARED = "finance"

ATTACKER_IP_1 = "203.0.113.45"
ATTACKER_IP_2 = "203.0.113.77"
ATTACKER_IP_V6 = "2001:db8::45"
ATTACKER_FORWARD_TO = "finance.fabrikam@mailbox-relay.example"
ATTACKER_RULE_NAME = ".."
THROTTLE_TIME = datetime(2022, 3, 29, 2, 14, 0, tzinfo=UTC)


def take_run(seq: list[tuple[str, Message]], k: int) -> tuple[str, list[Message]]:
    """Up to ``k`` leading messages of ``seq`` that share the first one's folder."""
    folder = seq[0][0]
    run: list[Message] = []
    for f_, m in seq[:k]:
        if f_ != folder:
            break
        run.append(m)
    return folder, run


@dataclass
class Case:
    records: list[Record]
    tags: dict[str, str]  # record Id -> ground-truth label
    mailboxes: dict[str, Mailbox]
    truth: dict[str, Any]
    seed: int


class CaseBuilder:
    """Writes the story of the sample case, record by record."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rnd = Rand(seed)
        self.r = self.rnd.r
        self.f = RecordFactory(self.rnd)
        self.corpus = Corpus(self.rnd)
        self.records: list[Record] = []
        self.tags: dict[str, str] = {}
        self.bound: dict[tuple[tuple[str, ...], str, str], datetime] = {}
        self.synced: dict[tuple[tuple[str, ...], str], datetime] = {}
        self.last_bind: dict[tuple[str, ...], datetime] = {}
        self.day_ctx: dict[tuple[str, str, str], Ctx] = {}
        # story events that reuse an owner's session: the session must already be open
        self.anchors: dict[tuple[str, str, str], datetime] = {
            (DELEGATE, "2022-03-31", "owa"): datetime(2022, 3, 31, 20, 40, 12, tzinfo=UTC),
            (VICTIM, "2022-03-27", "mobile"): datetime(2022, 3, 27, 18, 22, 9, tzinfo=UTC),
            (VICTIM, "2022-03-30", "mobile"): datetime(2022, 3, 30, 7, 41, 26, tzinfo=UTC),
        }
        self.truth: dict[str, Any] = {}
        self.mb: dict[str, Mailbox] = {}
        self.sid_base = (
            f"S-1-5-21-{self.r.randint(10**9, 4 * 10**9)}-{self.r.randint(10**9, 4 * 10**9)}"
            f"-{self.r.randint(10**9, 4 * 10**9)}"
        )
        self._make_mailboxes()

    # ---- setup ----------------------------------------------------------------------------

    def _make_mailboxes(self) -> None:
        for n, (alias, name, server, build, office, home, mobile, ver) in enumerate(PEOPLE):
            shared = alias == SHARED
            mbx = Mailbox(
                alias=alias,
                display_name=name,
                upn=f"{alias}@{DOMAIN}",
                guid=self.rnd.guid(),
                sid=f"{self.sid_base}-{21104 + 37 * n + self.r.randint(0, 30)}",
                puid=f"10032001{self.rnd.hexu(8)}",
                object_id=self.rnd.guid(),
                server=server,
                build=build,
                shared=shared,
                office_ip=office,
                home_ip=home,
                mobile_ip=mobile,
                client_version=ver,
                rest_ips=(
                    f"2001:db8:1026:c09:{self.r.randint(0x100, 0xFFF):x}::5",
                    f"2001:db8:10a6:e10:{self.r.randint(0x10, 0xFF):x}::14",
                ),
                mbx_key=self.rnd.b64(22),
                db_key=self.rnd.b64(22),
                device_aad=self.rnd.guid(),
                mobile_aad=self.rnd.guid(),
            )
            for path, code in FOLDER_CODES.items():
                mbx.folders[path] = f"LgAAAAB{mbx.mbx_key}AQC{mbx.db_key}AAAAAAE{code}AAAB"
                mbx.messages[path] = []
            self.mb[alias] = mbx
        self._fill_corpora()

    def _fill_corpora(self) -> None:
        lo = datetime(2022, 1, 10, tzinfo=UTC)
        hi = datetime(2022, 4, 2, 18, 0, tzinfo=UTC)
        span = (hi - lo).total_seconds()
        plan = {
            VICTIM: {
                "\\Inbox": (170, 0.35),
                "\\Sent Items": (70, 0.3),
                "\\Archive": (60, 0.2),
                "\\Archive\\Payments": (48, 1.0),
                "\\Deleted Items": (15, 0.1),
                "\\Drafts": (4, 0.5),
            },
            SHARED: {
                "\\Inbox": (130, 0.9),
                "\\Sent Items": (30, 0.8),
                "\\Archive": (20, 0.9),
                "\\Deleted Items": (8, 0.5),
                "\\Drafts": (2, 0.5),
            },
        }
        default = {
            "\\Inbox": (110, 0.08),
            "\\Sent Items": (50, 0.05),
            "\\Archive": (30, 0.05),
            "\\Deleted Items": (10, 0.05),
            "\\Drafts": (3, 0.0),
        }
        for alias, mbx in self.mb.items():
            for folder, (count, fin_share) in plan.get(alias, default).items():
                for _ in range(count):
                    # three quarters of the mail predates the case window
                    if self.r.random() < 0.75:
                        frac = self.r.random() * (CASE_START - lo).total_seconds() / span
                    else:
                        frac = self.r.random()
                    received = lo + timedelta(seconds=int(frac * span))
                    m = self.corpus.message(
                        self.f,
                        mbx,
                        folder,
                        received,
                        finance=self.r.random() < fin_share,
                        internal=folder in ("\\Sent Items", "\\Drafts") or self.r.random() < 0.3,
                    )
                    mbx.messages[folder].append(m)
            for msgs in mbx.messages.values():
                msgs.sort(key=lambda m: (m.received, m.imid))

    # ---- contexts -------------------------------------------------------------------------

    def ctx(
        self,
        actor: Mailbox,
        mailbox: Mailbox,
        client: str,
        ip: str,
        label: str,
        *,
        session: bool = True,
        aad: str | None = None,
        logon_type: int | None = None,
        issued: datetime | None = None,
    ) -> Ctx:
        lt = logon_type if logon_type is not None else (0 if actor is mailbox else 2)
        sid = self.rnd.guid() if session and client != "rest" else None
        c = Ctx(
            actor=actor,
            mailbox=mailbox,
            client=client,
            ip=ip,
            session_id=sid,
            logon_type=lt,
            client_info=CIS_MAPI,
            label=label,
        )
        if client == "mapi":
            c.client_version = actor.client_version
        elif client == "owa":
            c.client_info = CIS_OWA
            c.app_id = APP_EXCHANGE
            c.client_app_id = ""
        elif client == "mobile":
            c.client_info = CIS_ANDROID if actor.alias == "alex.wilber" else CIS_IOS
            c.app_id = APP_OUTLOOK_MOBILE
            c.client_app_id = ""
        elif client == "rest":
            c.client_info = CIS_REST
            c.app_id = APP_GRAPH
            c.client_app_id = APP_TEAMS
        if client in ("owa", "mobile", "rest") and issued is not None:
            c.aac = {
                "AADSessionId": aad or actor.device_aad,
                "IssuedAtTime": ts(issued),
                "UniqueTokenId": self.rnd.b64url(22),
            }
        return c

    # ---- emission -------------------------------------------------------------------------

    def emit(self, rec: Record, label: str) -> bool:
        """Keep a record unless Exchange would not have written it."""
        op = rec["Operation"]
        t = parse_ts(rec["CreationTime"])
        if op in ("SendAs", "SendOnBehalf") and t <= MC382148_END:
            raise AssertionError("MC382148: no SendAs/SendOnBehalf before 2022-03-27")
        if (
            op == "MailItemsAccessed"
            and rec["RecordType"] == 50
            and rec.get("MailboxOwnerUPN") == self.mb[VICTIM].upn
            and THROTTLE_TIME <= t < THROTTLE_TIME + timedelta(hours=24)
            and label != "attacker:rest:throttle"
        ):
            return False  # mailbox throttled: binds are not audited for 24 h
        self.records.append(rec)
        self.tags[rec["Id"]] = label
        return True

    def eligible(self, ctx: Ctx, folder: str, t: datetime, pred: Any = None) -> list[Message]:
        out = []
        for m in ctx.mailbox.messages[folder]:
            if m.received > t:
                break
            last = self.bound.get((ctx.key, folder, m.imid))
            if last is not None and t - last < HOUR:
                continue
            if pred is None or pred(m):
                out.append(m)
        return out

    def bind(
        self,
        ctx: Ctx,
        t: datetime,
        folders: list[tuple[str, list[Message]]],
        label: str,
        *,
        throttled: bool = False,
    ) -> Record | None:
        folders = [(p, ms) for p, ms in folders if ms]
        if not folders:
            return None
        last = self.last_bind.get(ctx.key)
        if last is not None and t - last < timedelta(minutes=2):
            t = last + timedelta(minutes=2, seconds=self.r.randint(1, 40))
        rec = self.f.mia_bind(
            ctx, t, folders, with_sizes=self.r.random() < 0.4, throttled=throttled
        )
        if self.emit(rec, label):
            self.last_bind[ctx.key] = t
            for p, ms in folders:
                for m in ms:
                    self.bound[(ctx.key, p, m.imid)] = t
        return rec

    def random_bind(self, ctx: Ctx, t: datetime, label: str) -> None:
        r = self.r
        roll = r.random()
        k = r.choices([1, 2, 3, 4, 5], weights=[38, 26, 16, 12, 8])[0]
        if roll < 0.06:
            inbox = self.eligible(ctx, "\\Inbox", t)[-40:]
            sent = self.eligible(ctx, "\\Sent Items", t)[-20:]
            a = r.randint(1, 3)
            self.bind(
                ctx,
                t,
                [
                    ("\\Inbox", r.sample(inbox, min(a, len(inbox)))),
                    ("\\Sent Items", r.sample(sent, min(max(k - a, 1), len(sent)))),
                ],
                label,
            )
            return
        if roll < 0.78:
            folder = "\\Inbox"
        elif roll < 0.9:
            folder = "\\Sent Items"
        elif ctx.mailbox.messages["\\Archive\\Payments"] and roll < 0.95:
            folder = "\\Archive\\Payments"
        else:
            folder = "\\Archive"
        pool = self.eligible(ctx, folder, t)
        pool = pool[-40:] if folder in ("\\Inbox", "\\Sent Items") else pool
        if pool:
            self.bind(ctx, t, [(folder, r.sample(pool, min(k, len(pool))))], label)

    def sync(self, ctx: Ctx, t: datetime, folder: str, label: str) -> None:
        last = self.synced.get((ctx.key, folder))
        if last is not None and t - last < HOUR:
            return
        if self.emit(self.f.mia_sync(ctx, t, folder), label):
            self.synced[(ctx.key, folder)] = t

    def login(
        self,
        user: Mailbox,
        t: datetime,
        ip: str,
        client: str,
        aad: str,
        label: str,
        *,
        user_id: str | None = None,
    ) -> None:
        if client == "mapi":
            app, ua, os_name, br = APP_OFFICE, UA_OUTLOOK, "Windows 10", ""
        elif client == "owa":
            if user.alias == "diego.siciliani":
                app, ua, os_name, br = APP_OWA_SIGNIN, UA_SAFARI_MAC, "MacOs", "Safari"
            else:
                app, ua, os_name, br = APP_OWA_SIGNIN, UA_EDGE, "Windows 10", "Edge"
        else:
            android = user.alias == "alex.wilber"
            app = APP_OUTLOOK_MOBILE
            ua = UA_ANDROID if android else UA_IOS
            os_name = "Android" if android else "Ios"
            br = ""
        rec = self.f.user_logged_in(
            user,
            t,
            ip,
            app,
            ua,
            aad,
            os_name=os_name,
            browser=br,
            user_id=user_id,
            request_type="OAuth2:Token" if client != "owa" else "OAuth2:Authorize",
        )
        self.emit(rec, label)

    # ---- item operations ------------------------------------------------------------------

    def new_outgoing(
        self, mbx: Mailbox, t: datetime, finance: bool | None = None, subject: str | None = None
    ) -> Message:
        fin = (
            finance
            if finance is not None
            else self.r.random() < (0.5 if mbx.alias in (VICTIM, SHARED, DELEGATE) else 0.1)
        )
        return self.corpus.message(
            self.f, mbx, "\\Drafts", t, finance=fin, internal=True, subject=subject
        )

    def deliver(self, sender: Mailbox, m: Message, t: datetime) -> None:
        """File a sent message in Sent Items and, for internal recipients, their Inbox."""
        sent = Message(
            m.imid,
            m.subject,
            m.size,
            t,
            self.f.item_id(sender, "\\Sent Items"),
            "\\Sent Items",
            m.finance,
        )
        sender.messages["\\Sent Items"].append(sent)
        if self.r.random() < 0.55:
            humans = [b for a, b in self.mb.items() if a not in (sender.alias, SHARED)]
            for rcpt in self.r.sample(humans, self.r.randint(1, 2)):
                rcv = t + timedelta(seconds=self.r.randint(2, 9))
                rcpt.messages["\\Inbox"].append(
                    Message(
                        m.imid,
                        m.subject,
                        m.size + self.r.randint(900, 4000),
                        rcv,
                        self.f.item_id(rcpt, "\\Inbox"),
                        "\\Inbox",
                        m.finance,
                    )
                )
                rcpt.messages["\\Inbox"].sort(key=lambda x: (x.received, x.imid))

    def do_send(self, ctx: Ctx, t: datetime, label: str) -> None:
        r = self.r
        mbx = ctx.mailbox
        m = self.new_outgoing(mbx, t)
        if r.random() < 0.3:
            self.emit(self.f.create(ctx, t - timedelta(minutes=r.randint(2, 25)), m), label)
        att = None
        if r.random() < 0.25:
            att = r.choice(
                [
                    "Q1_forecast_v3.xlsx",
                    "invoice.pdf",
                    "image001.png",
                    "Board pack (draft).pptx",
                    "scan_0042.pdf",
                ]
            )
            att = f"{att} ({r.randint(9000, 900000)}b)"
        self.emit(
            self.f.send(
                ctx,
                t,
                m,
                folder=r.choice(["\\Drafts", "\\Drafts", "\\Sent Items"]),
                unknown_id=ctx.client != "mapi" and r.random() < 0.5,
                attachments=att,
            ),
            label,
        )
        self.deliver(mbx, m, t)

    def do_other(self, ctx: Ctx, t: datetime, label: str) -> None:
        r = self.r
        mbx = ctx.mailbox
        roll = r.random()
        inbox = [m for m in mbx.messages["\\Inbox"] if m.received <= t][-60:]
        if roll < 0.35 and inbox:
            m = r.choice(inbox)
            mods = r.choice(
                [
                    ["IsRead"],
                    ["FlagStatus", "FlagRequest", "FlagCompleteTime"],
                    ["Categories"],
                    ["IsRead", "Categories"],
                ]
            )
            self.emit(self.f.update(ctx, t, m, mods), label)
        elif roll < 0.75 and inbox:
            msgs = r.sample(inbox, min(len(inbox), r.randint(1, 3)))
            self.emit(
                self.f.group_op(ctx, t, "MoveToDeletedItems", msgs, "\\Inbox", "\\Deleted Items"),
                label,
            )
            for m in msgs:
                mbx.messages["\\Inbox"].remove(m)
                m.folder = "\\Deleted Items"
                mbx.messages["\\Deleted Items"].append(m)
        elif roll < 0.9:
            deleted = mbx.messages["\\Deleted Items"]
            if deleted:
                msgs = deleted[: r.randint(1, 4)]
                self.emit(self.f.group_op(ctx, t, "SoftDelete", msgs, "\\Deleted Items"), label)
                del deleted[: len(msgs)]
        elif inbox:
            m = r.choice(inbox)
            self.emit(self.f.group_op(ctx, t, "HardDelete", [m], "\\Inbox"), label)
            mbx.messages["\\Inbox"].remove(m)

    # ---- owner days -----------------------------------------------------------------------

    def get_ctx(self, user: Mailbox, day: datetime, client: str, t: datetime) -> Ctx:
        key = (user.alias, day.strftime("%Y-%m-%d"), client)
        if key in self.day_ctx:
            return self.day_ctx[key]
        ip = {"mapi": user.office_ip, "owa": user.home_ip, "mobile": user.mobile_ip}[client]
        aad = {"mapi": user.device_aad, "mobile": user.mobile_aad}.get(client)
        if client == "owa":
            aad = self.rnd.guid()
        assert aad is not None
        c = self.ctx(
            user,
            user,
            client,
            ip,
            "owner",
            aad=aad,
            issued=t - timedelta(minutes=self.r.randint(1, 50)),
        )
        self.login(user, t - timedelta(seconds=self.r.randint(15, 200)), ip, client, aad, "owner")
        self.day_ctx[key] = c
        return c

    def workday(self, user: Mailbox, day: datetime) -> None:
        r = self.r
        start = day + timedelta(minutes=r.randint(455, 525))
        end = day + timedelta(minutes=r.randint(1000, 1100))
        if user.alias == VICTIM and day.day == 28:
            start = day + timedelta(hours=8, minutes=4, seconds=37)
        mapi = self.get_ctx(user, day, "mapi", start)
        folders = ["\\Inbox", "\\Sent Items", "\\Drafts", "\\Archive"]
        if user.messages["\\Archive\\Payments"]:
            folders.append("\\Archive\\Payments")
        t = start
        for fo in folders:
            self.sync(mapi, t, fo, "owner")
            t += timedelta(seconds=r.randint(2, 25))
        next_resync = start + timedelta(minutes=r.randint(120, 200))
        t = start + timedelta(minutes=r.randint(3, 9))
        while t < end:
            roll = r.random()
            if roll < 0.64:
                self.random_bind(mapi, t, "owner")
            elif roll < 0.76:
                self.do_send(mapi, t, "owner")
            else:
                self.do_other(mapi, t, "owner")
            t += timedelta(minutes=r.randint(6, 34), seconds=r.randint(0, 59))
            if t > next_resync:
                self.sync(mapi, t, "\\Inbox", "owner")
                if r.random() < 0.5:
                    self.sync(
                        mapi, t + timedelta(seconds=r.randint(3, 40)), "\\Sent Items", "owner"
                    )
                next_resync = t + timedelta(minutes=r.randint(110, 190))
            if user.alias == DELEGATE and r.random() < 0.08:
                self.delegate_touch(user, day, t)
        # second and third session of the day
        extra = r.sample(["owa", "mobile", "none"], 2)
        if user.alias == VICTIM and day.day == 28:
            extra = ["mobile"]
        for a_user, a_day, a_kind in self.anchors:
            if (a_user, a_day) == (user.alias, day.strftime("%Y-%m-%d")) and a_kind not in extra:
                extra = [a_kind, *[k for k in extra if k != "none"][:1]]
        for kind in extra:
            if kind == "owa":
                s = day + timedelta(hours=r.randint(19, 21), minutes=r.randint(0, 50))
                self.short_session(user, day, "owa", s, r.randint(2, 6))
            elif kind == "mobile":
                s = day + timedelta(hours=6, minutes=r.randint(40, 95))
                self.short_session(user, day, "mobile", s, r.randint(1, 4))
        for _ in range(r.choice([0, 1, 1, 2])):
            s = day + timedelta(hours=r.randint(9, 16), minutes=r.randint(0, 59))
            rest = self.ctx(
                user,
                user,
                "rest",
                r.choice(user.rest_ips),
                "owner",
                aad=user.device_aad,
                issued=s - timedelta(minutes=r.randint(3, 55)),
            )
            if r.random() < 0.5:
                rest.app_id = APP_SUBSTRATE
                rest.client_app_id = APP_SUBSTRATE
            self.random_bind(rest, s, "owner")

    def short_session(
        self, user: Mailbox, day: datetime, client: str, t: datetime, actions: int
    ) -> None:
        r = self.r
        anchor = self.anchors.get((user.alias, day.strftime("%Y-%m-%d"), client))
        if anchor is not None:
            t = min(t, anchor - timedelta(minutes=r.randint(6, 30)))
        c = self.get_ctx(user, day, client, t)
        for _ in range(actions):
            roll = r.random()
            if roll < 0.7:
                self.random_bind(c, t, "owner")
            elif roll < 0.85 and not (user.alias == VICTIM and client == "mobile"):
                self.do_send(c, t, "owner")
            else:
                self.do_other(c, t, "owner")
            t += timedelta(minutes=r.randint(3, 14), seconds=r.randint(0, 59))

    def weekend(self, user: Mailbox, day: datetime) -> None:
        r = self.r
        forced = (user.alias, day.strftime("%Y-%m-%d"), "mobile") in self.anchors
        if r.random() < 0.45 or forced:
            s = day + timedelta(hours=r.randint(9, 20), minutes=r.randint(0, 59))
            self.short_session(user, day, "mobile", s, r.randint(1, 3))

    def delegate_touch(self, user: Mailbox, day: datetime, t: datetime) -> None:
        """Adele reading her manager's mailbox as a delegate (LogonType 2)."""
        megan = self.mb[VICTIM]
        mapi = self.day_ctx[(user.alias, day.strftime("%Y-%m-%d"), "mapi")]
        key = (user.alias, day.strftime("%Y-%m-%d"), "deleg-megan")
        c = self.day_ctx.get(key)
        if c is None:
            c = self.ctx(user, megan, "mapi", user.office_ip, "delegate", logon_type=2)
            c.session_id = mapi.session_id
            self.day_ctx[key] = c
        pool = self.eligible(c, "\\Inbox", t)[-30:]
        if pool:
            self.bind(
                c,
                t,
                [("\\Inbox", self.r.sample(pool, min(len(pool), self.r.randint(1, 3))))],
                "delegate",
            )

    def shared_mailbox_day(self, day: datetime) -> None:
        """finance@ has no owner sign-in: Adele and Lee work it as delegates."""
        r = self.r
        fin = self.mb[SHARED]
        for alias in (DELEGATE, "lee.gu"):
            user = self.mb[alias]
            mapi = self.day_ctx.get((alias, day.strftime("%Y-%m-%d"), "mapi"))
            if mapi is None:
                continue
            c = self.ctx(user, fin, "mapi", user.office_ip, "delegate", logon_type=2)
            c.session_id = mapi.session_id
            t = parse_ts(self.first_time(mapi)) + timedelta(seconds=r.randint(30, 140))
            self.sync(c, t, "\\Inbox", "delegate")
            for _ in range(r.randint(2, 6) if alias == DELEGATE else r.randint(0, 2)):
                t += timedelta(minutes=r.randint(20, 80))
                if t.hour >= 18:
                    break
                pool = self.eligible(c, "\\Inbox", t)[-50:]
                if pool:
                    self.bind(
                        c,
                        t,
                        [("\\Inbox", r.sample(pool, min(len(pool), r.randint(1, 4))))],
                        "delegate",
                    )

    def first_time(self, ctx: Ctx) -> str:
        for rec in self.records:
            if rec.get("SessionId") == ctx.session_id:
                return str(rec["CreationTime"])
        raise LookupError(ctx.session_id)

    # ---- the attack -----------------------------------------------------------------------

    def attack(self) -> None:
        r = self.r
        megan = self.mb[VICTIM]
        day = datetime(2022, 3, 28, tzinfo=UTC)
        aad = self.rnd.guid()
        self.truth["attacker_aad_session_id"] = aad
        # 1. sign-in from 203.0.113.45 with a browser Megan never uses
        t0 = day + timedelta(hours=9, minutes=2, seconds=11)
        self.emit(
            self.f.user_logged_in(
                megan,
                t0,
                ATTACKER_IP_1,
                APP_OWA_SIGNIN,
                UA_FIREFOX_LINUX,
                aad,
                os_name="Linux",
                browser="Firefox",
            ),
            "attacker:signin",
        )
        owa = self.ctx(
            megan,
            megan,
            "owa",
            ATTACKER_IP_1,
            "attacker:owa",
            aad=aad,
            issued=t0 + timedelta(seconds=4),
        )
        assert owa.aac is not None
        # 2. ~40 finance messages bound over ~1 hour (Inbox and Archive\Payments)
        cutoff = day + timedelta(hours=9)
        inbox_fin = [m for m in megan.messages["\\Inbox"] if m.finance and m.received < cutoff]
        payments = [m for m in megan.messages["\\Archive\\Payments"] if m.received < cutoff]
        sources = {
            "\\Inbox": r.sample(inbox_fin, 18),
            "\\Archive\\Payments": r.sample(payments, 22),
        }
        picks: list[tuple[str, Message]] = []
        while any(sources.values()):
            folder = r.choice([f_ for f_, ms in sources.items() if ms])
            n = r.randint(2, 7)
            picks += [(folder, m) for m in sources[folder][:n]]
            del sources[folder][:n]
        t = t0 + timedelta(minutes=2, seconds=48)
        replay_at = day + timedelta(hours=9, minutes=34)
        first_owa = owa
        while picks:
            folder, chunk = take_run(picks, r.randint(1, 4))
            picks = picks[len(chunk) :]
            if t >= replay_at and owa.ip == ATTACKER_IP_1:
                # token replay: same SessionId, same token, new address, no new sign-in
                owa = replace(owa, ip=ATTACKER_IP_2, label="attacker:owa-replay")
            self.bind(owa, t, [(folder, chunk)], owa.label)
            t += timedelta(minutes=r.randint(2, 3), seconds=r.randint(5, 40))
        # inbox rule created in OWA, forwarding finance mail to an outside mailbox
        t_rule = day + timedelta(hours=9, minutes=14, seconds=52)
        port = r.randint(49152, 65000)
        rec = self.f.new_inbox_rule(
            first_owa,
            t_rule,
            f"{ATTACKER_IP_1}:{port}",
            ATTACKER_RULE_NAME,
            [
                ("AlwaysDeleteOutlookRulesBlob", "False"),
                ("Force", "False"),
                ("ForwardTo", ATTACKER_FORWARD_TO),
                ("MarkAsRead", "True"),
                ("MoveToFolder", "RSS Subscriptions"),
                ("Name", ATTACKER_RULE_NAME),
                ("StopProcessingRules", "True"),
                ("SubjectOrBodyContainsWords", "invoice;payment;wire;bank details"),
            ],
        )
        self.emit(rec, "attacker:rule")
        self.truth["attacker_owa_session"] = owa.session_id
        self.truth["attacker_owa_token"] = owa.aac["UniqueTokenId"]
        # 3. Outlook desktop from the attacker's address: one Sync of the Inbox, rule update
        mapi = self.ctx(megan, megan, "mapi", ATTACKER_IP_1, "attacker:mapi")
        mapi.client_version = "16.0.15028.20160"
        ts_sync = day + timedelta(hours=9, minutes=27, seconds=14)
        self.sync(mapi, ts_sync, "\\Inbox", "attacker:mapi")
        self.emit(
            self.f.update_inbox_rules(
                mapi,
                ts_sync + timedelta(minutes=3, seconds=31),
                ATTACKER_RULE_NAME,
                ATTACKER_FORWARD_TO,
                "{(Or(Contains(Subject,invoice),Contains(Subject,payment),Contains(Body,wire)))}",
            ),
            "attacker:mapi",
        )
        self.truth["attacker_mapi_session"] = mapi.session_id
        # 4. one message sent from the replayed session, sent copy hard-deleted
        t_send = max(t, day + timedelta(hours=10, minutes=4)) + timedelta(seconds=17)
        vendor = "Northwind Traders"
        m = self.corpus.message(
            self.f,
            megan,
            "\\Drafts",
            t_send,
            finance=True,
            internal=True,
            subject=f"RE: Updated bank details for {vendor}",
        )
        self.emit(self.f.send(owa, t_send, m, folder="\\Drafts", unknown_id=True), "attacker:send")
        sent = Message(
            m.imid,
            m.subject,
            m.size,
            t_send,
            self.f.item_id(megan, "\\Sent Items"),
            "\\Sent Items",
            True,
        )
        self.emit(
            self.f.group_op(
                owa, t_send + timedelta(minutes=1, seconds=6), "HardDelete", [sent], "\\Sent Items"
            ),
            "attacker:harddelete",
        )
        self.truth["attacker_sent_imid"] = m.imid
        # 5. evening: consented app reads the whole mailbox through Graph from 2001:db8::45
        app = str(uuid.uuid5(NAMESPACE, "app/mail-archiver-sync"))
        self.truth["attacker_app_id"] = app
        t_app = day + timedelta(hours=20, minutes=28, seconds=3)
        self.emit(
            self.f.user_logged_in(
                megan,
                t_app,
                ATTACKER_IP_V6,
                app,
                UA_PYTHON,
                aad,
                os_name="",
                browser="",
                request_type="OAuth2:Token",
            ),
            "attacker:signin",
        )
        rest = self.ctx(
            megan,
            megan,
            "rest",
            ATTACKER_IP_V6,
            "attacker:rest",
            aad=aad,
            issued=t_app + timedelta(seconds=2),
        )
        rest.app_id = app
        rest.client_app_id = app
        order = ["\\Inbox", "\\Archive\\Payments", "\\Archive", "\\Sent Items", "\\Deleted Items"]
        queue: list[tuple[str, Message]] = []
        for folder in order:
            queue += [(folder, m) for m in reversed(megan.messages[folder]) if m.received < t_app]
        chunks: list[tuple[str, list[Message]]] = []
        while queue:
            folder, chunk = take_run(queue, r.randint(2, 8))
            queue = queue[len(chunk) :]
            chunks.append((folder, chunk))
        last_chunk = chunks.pop()
        start = t_app + timedelta(minutes=2, seconds=41)
        stop = THROTTLE_TIME - timedelta(minutes=1)
        step = (stop - start) / len(chunks)
        for i, (folder, chunk) in enumerate(chunks):
            tt = start + step * i + timedelta(seconds=r.randint(0, 20))
            self.bind(rest, tt.replace(microsecond=0), [(folder, chunk)], "attacker:rest")
        thr = self.bind(rest, THROTTLE_TIME, [last_chunk], "attacker:rest:throttle", throttled=True)
        assert thr is not None and thr["CreationTime"] == ts(THROTTLE_TIME)
        self.truth["throttle_record_id"] = thr["Id"]

    # ---- SendAs / SendOnBehalf --------------------------------------------------------------

    def sends_as(self) -> None:
        r = self.r
        megan, adele = self.mb[VICTIM], self.mb[DELEGATE]

        def at(month: int, day: int, h: int, mi: int, s: int) -> datetime:
            return datetime(2022, month, day, h, mi, s, tzinfo=UTC)

        def day_of(t: datetime) -> datetime:
            return t.replace(hour=0, minute=0, second=0)

        def delegate_send(t: datetime, client: str, subject: str, op: str, label: str) -> None:
            base = self.get_ctx(adele, day_of(t), client, t)
            # the delegate sends from her own mailbox: UserId = MailboxOwnerUPN = Adele
            ctx = replace(base, logon_type=2, label=label)
            m = self.new_outgoing(adele, t, finance=True, subject=subject)
            kwargs: dict[str, Any] = {}
            if op == "SendOnBehalf":
                kwargs["on_behalf"] = (megan.upn, megan.guid)
            elif label == "sendas:inconsistent":
                kwargs["send_as"] = ("", megan.guid)
            else:
                kwargs["send_as"] = (megan.upn, megan.guid)
            rec = self.f.send(
                ctx,
                t,
                m,
                operation=op,
                folder=r.choice(["\\Drafts", "\\Sent Items"]),
                unknown_id=client != "mapi",
                **kwargs,
            )
            self.emit(rec, label)

        # (a) genuine delegate SendAs: Adele sends as Megan
        delegate_send(
            at(3, 28, 11, 2, 41),
            "mapi",
            "Payment approval – Tailspin Toys",
            "SendAs",
            "sendas:delegate",
        )
        delegate_send(
            at(3, 31, 20, 40, 12), "owa", "RE: Board pack draft v4", "SendAs", "sendas:delegate"
        )
        # SendOnBehalf: Adele on behalf of Megan
        delegate_send(
            at(3, 29, 10, 12, 5),
            "mapi",
            "Invitation: Q1 close review",
            "SendOnBehalf",
            "sendonbehalf",
        )
        delegate_send(
            at(4, 1, 9, 30, 48), "mapi", "FW: Signed PO 450071233", "SendOnBehalf", "sendonbehalf"
        )
        # inconsistent: a SendAs record whose impersonated address is empty
        delegate_send(
            at(3, 30, 14, 5, 33),
            "mapi",
            "Remittance advice RA771204",
            "SendAs",
            "sendas:inconsistent",
        )
        # (b) Megan's own sends from Outlook for iOS to outside recipients, logged as SendAs
        for t, subject, variant in (
            (at(3, 27, 18, 22, 9), "RE: Dinner on Friday", "smtp"),
            (at(3, 30, 7, 41, 26), "Re: Contract renewal – Litware Inc.", "userid"),
        ):
            c = self.get_ctx(megan, day_of(t), "mobile", t)
            if variant == "userid":
                c = replace(c, user_id="Megan.Bowen@" + DOMAIN)
            smtp = "Megan.Bowen@" + DOMAIN if variant == "smtp" else megan.upn
            m = self.new_outgoing(megan, t, finance=False, subject=subject)
            rec = self.f.send(
                c,
                t,
                m,
                operation="SendAs",
                folder="\\Sent Items",
                unknown_id=True,
                send_as=(smtp, megan.guid),
            )
            self.emit(rec, "sendas:owner-artifact")

    # ---- 2022-04-02: the day only the broken export holds ------------------------------------

    def last_day(self) -> None:
        r = self.r
        day = datetime(2022, 4, 2, tzinfo=UTC)
        lee = self.mb["lee.gu"]
        owa = self.get_ctx(lee, day, "owa", day + timedelta(hours=10, minutes=3))
        t = day + timedelta(hours=10, minutes=5, seconds=12)
        for _ in range(4):
            self.random_bind(owa, t, "owner")
            t += timedelta(minutes=r.randint(3, 9))
        self.do_send(owa, t, "owner")
        # new Outlook for Windows prefetching: one very large REST bind (> 32,767 chars)
        rest = self.ctx(
            lee,
            lee,
            "rest",
            lee.rest_ips[0],
            "owner",
            aad=lee.device_aad,
            issued=t - timedelta(minutes=7),
        )
        rest.app_id = "5d661950-3475-41cd-a2c3-d671a3162bc1"
        rest.client_app_id = "5d661950-3475-41cd-a2c3-d671a3162bc1"
        big_t = t + timedelta(minutes=6, seconds=20)
        for k in range(330):
            rcv = datetime(2021, 6, 1, tzinfo=UTC) + timedelta(hours=6 * k)
            lee.messages["\\Archive"].append(
                self.corpus.message(
                    self.f, lee, "\\Archive", rcv, finance=False, internal=r.random() < 0.4
                )
            )
        lee.messages["\\Archive"].sort(key=lambda m: (m.received, m.imid))
        pool = self.eligible(rest, "\\Archive", big_t)
        rec = self.f.mia_bind(rest, big_t, [("\\Archive", pool)], with_sizes=True)
        self.emit(rec, "owner:bulk")
        self.truth["bulk_record_id"] = rec["Id"]
        diego = self.mb["diego.siciliani"]
        self.short_session(diego, day, "mobile", day + timedelta(hours=11, minutes=40), 4)
        alex = self.mb["alex.wilber"]
        self.short_session(alex, day, "mobile", day + timedelta(hours=16, minutes=12), 2)

    # ---- whole story ------------------------------------------------------------------------

    def build(self) -> Case:
        for n in range(CASE_DAYS - 1):  # 2022-03-20 .. 2022-04-01
            day = CASE_START + timedelta(days=n)
            humans = [m for a, m in self.mb.items() if a != SHARED]
            for user in humans:
                if day.weekday() < 5:
                    self.workday(user, day)
                else:
                    self.weekend(user, day)
            if day.weekday() < 5:
                self.shared_mailbox_day(day)
        self.attack()
        self.sends_as()
        self.last_day()
        self.records.sort(key=lambda d: (d["CreationTime"], d["Id"]))
        return Case(self.records, self.tags, self.mb, self.truth, self.seed)


def build_case(seed: int = CASE_SEED) -> Case:
    """The bundled sample case: records sorted by (CreationTime, Id) plus ground-truth tags."""
    return CaseBuilder(seed).build()


# --------------------------------------------------------------------------------------------
# New Purview CSV rendering (shared with the benchmarks)
# --------------------------------------------------------------------------------------------

PURVIEW_HEADER = (
    "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,"
    "AssociatedAdminUnits,AssociatedAdminUnitsNames"
)


def csv_field(value: str) -> str:
    """Minimal CSV quoting (RFC 4180), as the Purview export does."""
    if (
        '"' in value
        or "," in value
        or "\n" in value
        or "\r" in value
        or value[:1].isspace()
        or value[-1:].isspace()
    ):
        return '"' + value.replace('"', '""') + '"'
    return value


def purview_creation_date(creation_time: str) -> str:
    """``2022-03-28T09:14:22`` -> ``"2022-03-28T09:14:22.0000000Z "`` (quoted: trailing space)."""
    return f'"{creation_time}.0000000Z "'


def purview_csv_row(ad: Record, audit_data: str | None = None) -> str:
    """One data line (without line terminator) of the new Purview audit export."""
    data = audit_data if audit_data is not None else orjson.dumps(ad).decode()
    return (
        f'{csv_field(str(ad["Id"]))},"{ad["CreationTime"]}.0000000Z ",{ad["RecordType"]},'
        f"{csv_field(str(ad['Operation']))},{csv_field(str(ad['UserId']))},"
        f'"{data.replace(chr(34), chr(34) * 2)}",,'
    )


def purview_csv_line_bytes(ad: Record) -> bytes:
    """:func:`purview_csv_row` as UTF-8 bytes with its CRLF terminator (faster path)."""
    return b'%s,"%s.0000000Z ",%d,%s,%s,"%s",,\r\n' % (
        csv_field(str(ad["Id"])).encode(),
        str(ad["CreationTime"]).encode(),
        ad["RecordType"],
        csv_field(str(ad["Operation"])).encode(),
        csv_field(str(ad["UserId"])).encode(),
        orjson.dumps(ad).replace(b'"', b'""'),
    )


def write_purview_csv(fh: BinaryIO, records: Iterable[Record], *, bom: bool = False) -> int:
    """Stream records into a binary file as a new-Purview CSV export; returns the row count."""
    if bom:
        fh.write(b"\xef\xbb\xbf")
    fh.write(PURVIEW_HEADER.encode() + b"\r\n")
    count = 0
    chunk: list[bytes] = []
    for ad in records:
        chunk.append(purview_csv_line_bytes(ad))
        if len(chunk) == 4096:
            fh.write(b"".join(chunk))
            count += len(chunk)
            chunk.clear()
    fh.write(b"".join(chunk))
    return count + len(chunk)


# --------------------------------------------------------------------------------------------
# Scaled synthetic case for benchmarks (streaming)
# --------------------------------------------------------------------------------------------


class ScaledCase:
    """A synthetic case of ``n`` AuditData records: many mailboxes, one attacked.

    Iterating yields the records in time order, one dict at a time (nothing is kept), so a
    million-record CSV can be written in constant memory::

        case = ScaledCase(1_000_000, seed=7)
        with open(path, "wb") as fh:
            write_purview_csv(fh, case)

    The attacked mailbox is ``case.victim.upn``; attacker records come from ``case.attacker_ip``
    with SessionId ``case.attacker_session_id``. After a full iteration ``case.attacker_records``
    and ``case.attacker_message_ids`` hold what was emitted for the attacker.
    """

    def __init__(
        self,
        n: int,
        seed: int = 0,
        mailboxes: int | None = None,
        start: datetime = CASE_START,
        days: int = CASE_DAYS,
    ) -> None:
        self.n = n
        self.seed = seed
        self.start = start
        self.days = days
        self.n_mailboxes = mailboxes or max(8, min(20_000, n // 400))
        self.attacker_ip = ATTACKER_IP_1
        self.attacker_records = 0
        self.attacker_message_ids: set[str] = set()
        rnd = Rand(seed)
        self._rnd = rnd
        sid_base = f"S-1-5-21-{rnd.r.randint(10**9, 4 * 10**9)}-{rnd.r.randint(10**9, 4 * 10**9)}"
        self.mailboxes: list[Mailbox] = []
        for i in range(self.n_mailboxes):
            server = f"DB{rnd.r.randint(3, 9)}PR0{rnd.r.randint(1, 9)}MB{rnd.r.randint(1000, 9999)}"
            mbx = Mailbox(
                alias=f"user{i:05d}",
                display_name=f"User {i:05d}",
                upn=f"user{i:05d}@{DOMAIN}",
                guid=rnd.guid(),
                sid=f"{sid_base}-{100000 + i}",
                puid=f"10032001{rnd.hexu(8)}",
                object_id=rnd.guid(),
                server=server,
                build="15.20.5102.018",
                shared=False,
                office_ip=f"198.51.100.{10 + i % 200}",
                home_ip=f"192.0.2.{1 + i % 250}",
                mobile_ip=f"192.0.2.{1 + (i * 7) % 250}",
                client_version="16.0.14326.20784",
                rest_ips=(f"2001:db8:1026:c09:{i % 4096:x}::5",),
                mbx_key=rnd.b64(22),
                db_key=rnd.b64(22),
                device_aad=rnd.guid(),
                mobile_aad=rnd.guid(),
            )
            for path, code in FOLDER_CODES.items():
                mbx.folders[path] = f"LgAAAAB{mbx.mbx_key}AQC{mbx.db_key}AAAAAAE{code}AAAB"
            self.mailboxes.append(mbx)
        self.victim = self.mailboxes[0]
        self.attacker_session_id = rnd.guid()
        self.attacker_aad_session_id = rnd.guid()

    def __iter__(self) -> Iterator[Record]:
        rnd = self._rnd
        r = rnd.r
        f = RecordFactory(rnd, cache_envelopes=True)
        span = self.days * 86400
        day_text = [
            (self.start + timedelta(days=k)).strftime("%Y-%m-%d") for k in range(self.days + 1)
        ]
        n = self.n
        mbxs = self.mailboxes
        nm = len(mbxs)
        ctxs: dict[tuple[int, str], Ctx] = {}
        attack_lo, attack_hi = int(n * 0.55), int(n * 0.55) + max(20, n // 500)
        att = Ctx(
            actor=self.victim,
            mailbox=self.victim,
            client="owa",
            ip=self.attacker_ip,
            session_id=self.attacker_session_id,
            logon_type=0,
            client_info=CIS_OWA,
            label="attacker",
            app_id=APP_EXCHANGE,
            client_app_id="",
            aac={
                "AADSessionId": self.attacker_aad_session_id,
                "IssuedAtTime": ts(self.start),
                "UniqueTokenId": rnd.b64url(22),
            },
        )
        clients = ("mapi", "mapi", "mapi", "owa", "mobile", "rest")
        ips = {"mapi": "office_ip", "owa": "home_ip", "mobile": "mobile_ip"}
        self.attacker_records = 0
        self.attacker_message_ids = set()
        base = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        for i in range(n):
            day, sec = divmod(base + i * span // n, 86400)
            hh, sec = divmod(sec, 3600)
            mm, ss = divmod(sec, 60)
            t = f"{day_text[day]}T{hh:02d}:{mm:02d}:{ss:02d}"
            if attack_lo <= i < attack_hi and i % 2 == 0:
                msgs = [self._msg(rnd, None) for _ in range(r.randint(1, 5))]
                self.attacker_records += 1
                self.attacker_message_ids.update(m.imid for m in msgs)
                yield f.mia_bind(att, t, [("\\Inbox", msgs)], with_sizes=False)
                continue
            mi = r.randrange(nm)
            mbx = mbxs[mi]
            client = clients[r.randrange(6)]
            ctx = ctxs.get((mi, client))
            if ctx is None or r.random() < 0.002:
                ip = mbx.rest_ips[0] if client == "rest" else getattr(mbx, ips[client])
                ctx = Ctx(
                    actor=mbx,
                    mailbox=mbx,
                    client=client,
                    ip=ip,
                    session_id=None if client == "rest" else rnd.guid(),
                    logon_type=0,
                    client_info={
                        "mapi": CIS_MAPI,
                        "owa": CIS_OWA,
                        "mobile": CIS_IOS,
                        "rest": CIS_REST,
                    }[client],
                    label="owner",
                )
                if client == "mapi":
                    ctx.client_version = mbx.client_version
                else:
                    ctx.app_id = {
                        "owa": APP_EXCHANGE,
                        "mobile": APP_OUTLOOK_MOBILE,
                        "rest": APP_GRAPH,
                    }[client]
                    ctx.client_app_id = APP_TEAMS if client == "rest" else ""
                ctxs[(mi, client)] = ctx
            roll = r.random()
            if roll < 0.6:
                folder = "\\Inbox" if r.random() < 0.8 else "\\Sent Items"
                msgs = [self._msg(rnd, mbx.server) for _ in range(r.randint(1, 5))]
                yield f.mia_bind(ctx, t, [(folder, msgs)], with_sizes=r.random() < 0.4)
            elif roll < 0.72 and client == "mapi":
                yield f.mia_sync(ctx, t, r.choice(("\\Inbox", "\\Sent Items", "\\Archive")))
            elif roll < 0.84:
                message = self._msg(rnd, mbx.server)
                if client == "mobile" and r.random() < 0.5:
                    # Outlook mobile logs the owner's own send as SendAs, in the owner's own
                    # name (domain.md): the logging artefact the SendAs view must tell apart.
                    yield f.send(
                        ctx,
                        t,
                        message,
                        unknown_id=True,
                        operation="SendAs",
                        send_as=(mbx.upn, mbx.guid),
                    )
                elif r.random() < 0.01:
                    # A real delegate send: this mailbox's owner sends as (or on behalf of)
                    # the next mailbox's owner.
                    principal = mbxs[(mi + 1) % nm]
                    as_principal = (principal.upn, principal.guid)
                    on_behalf = r.random() < 0.3
                    yield f.send(
                        ctx,
                        t,
                        message,
                        unknown_id=client != "mapi",
                        operation="SendOnBehalf" if on_behalf else "SendAs",
                        send_as=None if on_behalf else as_principal,
                        on_behalf=as_principal if on_behalf else None,
                    )
                else:
                    yield f.send(ctx, t, message, unknown_id=client != "mapi")
            elif roll < 0.92:
                yield f.update(ctx, t, self._msg(rnd, mbx.server, "\\Inbox"), ["IsRead"])
            elif roll < 0.97:
                yield f.group_op(
                    ctx,
                    t,
                    "MoveToDeletedItems",
                    [self._msg(rnd, None, "\\Inbox")],
                    "\\Inbox",
                    "\\Deleted Items",
                )
            else:
                yield f.user_logged_in(
                    mbx,
                    t,
                    ctx.ip,
                    APP_OFFICE,
                    UA_OUTLOOK,
                    mbx.device_aad,
                    os_name="Windows 10",
                    browser="",
                )

    @staticmethod
    def _msg(rnd: Rand, server: str | None, folder: str = "\\Drafts") -> Message:
        if server is None:
            imid = f"<CAJx{rnd.b64(36).replace('/', '=')}@mail.northwind.example>"
        else:
            imid = f"<{server}{rnd.hexu(25)}@{server}.eurprd04.prod.outlook.example>"
        return Message(
            imid, "Weekly report", rnd.r.randint(4000, 90000), CASE_START, "Unknown", folder
        )


def iter_scaled_records(n: int, seed: int = 0) -> Iterator[Record]:
    """Stream ``n`` AuditData dicts of a synthetic scaled case (see :class:`ScaledCase`)."""
    return iter(ScaledCase(n, seed))
