"""Write ualscope's bundled FICTIONAL sample case under ``samples/case/``.

Run from the repository root::

    .venv/bin/python samples/make_case.py

The records come from :mod:`casegen` (fixed seed); this script renders them in the ten export
shapes described in ``samples/README.md``, writes ``case-expected.json`` (the ground truth,
computed from what was written), then reads every file back with independent minimal parsers
and checks that the counts match. Two runs give byte-identical files.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import ipaddress
import json
import random
import shutil
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import casegen as cg
import orjson

Record = dict[str, Any]

HERE = Path(__file__).resolve().parent
OUT = HERE / "case"

RECORD_TYPE_NAMES = {
    1: "ExchangeAdmin",
    2: "ExchangeItem",
    3: "ExchangeItemGroup",
    15: "AzureActiveDirectoryStsLogon",
    50: "ExchangeItemAggregated",
}
GRAPH_TYPES = {
    1: ("exchangeAdmin", "#microsoft.graph.security.exchangeAdminAuditLogRecord"),
    2: ("exchangeItem", "#microsoft.graph.security.exchangeMailboxAuditRecord"),
    3: ("exchangeItemGroup", "#microsoft.graph.security.exchangeMailboxAuditGroupRecord"),
    15: (
        "azureActiveDirectoryStsLogon",
        "#microsoft.graph.security.azureActiveDirectoryStsLogonAuditRecord",
    ),
    50: (
        "exchangeItemAggregated",
        "#microsoft.graph.security.exchangeAggregatedMailboxAuditRecord",
    ),
}
LOGON_NAMES = {0: "Owner", 1: "Admin", 2: "Delegate"}
EXCEL_CELL_LIMIT = 32_767


def utc(text: str) -> datetime:
    return cg.parse_ts(text)


def en_us(t: datetime, *, millis: bool = False, comma: bool = False) -> str:
    """``3/28/2022 9:15:02 AM`` (PowerShell en-US) or ``3/28/2022, 9:15:02.000 AM`` (Azure)."""
    h12 = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    sec = f"{t.second:02d}.000" if millis else f"{t.second:02d}"
    sep = ", " if comma else " "
    return f"{t.month}/{t.day}/{t.year}{sep}{h12}:{t.minute:02d}:{sec} {ampm}"


def compact(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def cmdlet_audit_data(ad: Record) -> str:
    """AuditData as the cmdlet returns it: compact JSON with ``/`` escaped as ``\\/``."""
    return compact(ad).replace("/", "\\/")


def quote_all(values: Iterable[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


def newest_first(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda d: (d["CreationTime"], d["Id"]), reverse=True)


# --------------------------------------------------------------------------------------------
# Bookkeeping of what each file holds
# --------------------------------------------------------------------------------------------


@dataclass
class FileLog:
    path: str
    shape: str
    ids: list[str] = field(default_factory=list)  # usable record copies, in file order
    rows: int = 0  # data rows / objects / lines, malformed included
    malformed: list[dict[str, Any]] = field(default_factory=list)


SENTINEL_COLUMNS = (
    "TenantId",
    "TimeGenerated [UTC]",
    "OfficeWorkload",
    "RecordType",
    "Operation",
    "OrganizationId",
    "UserType",
    "UserKey",
    "ResultStatus",
    "OfficeObjectId",
    "UserId",
    "ClientIP",
    "ExternalAccess",
    "OfficeTenantId",
    "OriginatingServer",
    "LogonUserSid",
    "LogonUserDisplayName",
    "Logon_Type",
    "InternalLogonType",
    "MailboxGuid",
    "MailboxOwnerUPN",
    "MailboxOwnerSid",
    "MailboxOwnerMasterAccountSid",
    "Client_IPAddress",
    "ClientInfoString",
    "ClientProcessName",
    "ClientVersion",
    "ClientMachineName",
    "AppId",
    "ClientAppId",
    "Folder",
    "Folders",
    "Item",
    "ItemName",
    "AffectedItems",
    "DestFolder",
    "CrossMailboxOperations",
    "Parameters",
    "ModifiedProperties",
    "OperationProperties",
    "SendAsUserSmtp",
    "SendAsUserMailboxGuid",
    "SendOnBehalfOfUserSmtp",
    "SendonBehalfOfUserMailboxGuid",
    "OrganizationName",
    "SourceRecordId",
    "OfficeId",
    "SourceSystem",
    "Type",
)


LEGACY_COLUMNS = (
    "RunspaceId",
    "Operation",
    "OperationResult",
    "LogonType",
    "ExternalAccess",
    "DestFolderId",
    "DestFolderPathName",
    "FolderId",
    "FolderPathName",
    "FolderName",
    "MemberRights",
    "MemberSid",
    "MemberUpn",
    "ClientInfoString",
    "ClientIPAddress",
    "ClientIP",
    "ClientMachineName",
    "ClientProcessName",
    "ClientVersion",
    "InternalLogonType",
    "MailboxOwnerUPN",
    "MailboxOwnerSid",
    "DestMailboxOwnerUPN",
    "DestMailboxOwnerSid",
    "DestMailboxGuid",
    "CrossMailboxOperation",
    "LogonUserDisplayName",
    "LogonUserSid",
    "SourceItems",
    "SourceFolders",
    "SourceItemIdsList",
    "SourceItemSubjectsList",
    "SourceItemAttachmentsList",
    "SourceItemFolderPathNamesList",
    "SourceFolderPathNamesList",
    "SourceItemInternetMessageIdsList",
    "ItemId",
    "ItemSubject",
    "ItemAttachments",
    "ItemInternetMessageId",
    "DirtyProperties",
    "OriginatingServer",
    "SessionId",
    "OperationProperties",
    "AuditOperationsCountInAggregatedRecord",
    "AggregatedRecordFoldersData",
    "AppId",
    "ClientAppId",
    "ItemIsRecord",
    "ItemComplianceLabel",
    "MailboxGuid",
    "MailboxResolvedOwnerName",
    "LastAccessed",
    "Identity",
    "IsValid",
    "ObjectState",
)


class CaseWriter:
    def __init__(self, case: cg.Case) -> None:
        self.case = case
        self.records = case.records
        self.by_id = {d["Id"]: d for d in case.records}
        self.tags = case.tags
        self.logs: list[FileLog] = []
        self.rnd = random.Random(case.seed + 1)
        self.megan = case.mailboxes[cg.VICTIM]
        self.adele = case.mailboxes[cg.DELEGATE]
        self.runspace = str(uuid.uuid5(cg.NAMESPACE, "runspace/exo-v2"))
        self.broken_dup: tuple[int, str] = (0, "")

    def write(self, rel: str, data: bytes) -> None:
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def log(self, rel: str, shape: str) -> FileLog:
        fl = FileLog(rel, shape)
        self.logs.append(fl)
        return fl

    # ---- selections -------------------------------------------------------------------------

    def is_megan_actor(self, d: Record) -> bool:
        return str(d.get("UserId", "")).lower() == self.megan.upn

    def on_day(self, d: Record, day: str) -> bool:
        return str(d["CreationTime"]).startswith(day)

    # ---- 1. new Purview CSV -----------------------------------------------------------------

    def purview_main(self) -> None:
        rel = "purview/AuditLog_2022-03-20_2022-04-02.csv"
        fl = self.log(rel, "purview-new-csv")
        end = "2022-04-02T00:00:00"  # the search's end date is exclusive
        rows = newest_first(d for d in self.records if d["CreationTime"] < end)
        lines = [cg.PURVIEW_HEADER]
        for d in rows:
            lines.append(cg.purview_csv_row(d))
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        self.write(rel, ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

    # ---- 2. classic 4-column export ---------------------------------------------------------

    def purview_classic(self) -> None:
        rel = "purview/classic_megan_2022-03-28.csv"
        fl = self.log(rel, "purview-classic-csv")
        rows = newest_first(
            d for d in self.records if self.is_megan_actor(d) and self.on_day(d, "2022-03-28")
        )
        lines = ["CreationDate,UserIds,Operations,AuditData"]
        for d in rows:
            lines.append(
                ",".join(
                    (
                        f"{d['CreationTime']}.0000000Z",
                        cg.csv_field(d["UserId"]),
                        cg.csv_field(d["Operation"]),
                        '"' + compact(d).replace('"', '""') + '"',
                    )
                )
            )
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        self.write(rel, ("\r\n".join(lines) + "\r\n").encode("utf-8"))

    # ---- 3. Search-UnifiedAuditLog | Export-Csv -Encoding Unicode (Windows PowerShell 5.1) ---

    def ps_csv(self) -> None:
        rel = "powershell/ual_megan.csv"
        fl = self.log(rel, "search-unifiedauditlog-csv")
        rows = newest_first(
            d
            for d in self.records
            if self.is_megan_actor(d)
            and d["Operation"] == "MailItemsAccessed"
            and self.on_day(d, "2022-03-28")
        )
        lines = [
            "#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks"
            ".UnifiedAuditLogEvent",
            quote_all(
                [
                    "RunspaceId",
                    "RecordType",
                    "CreationDate",
                    "UserIds",
                    "Operations",
                    "AuditData",
                    "ResultIndex",
                    "ResultCount",
                    "Identity",
                    "IsValid",
                    "ObjectState",
                ]
            ),
        ]
        for i, d in enumerate(rows, 1):
            lines.append(
                quote_all(
                    [
                        self.runspace,
                        RECORD_TYPE_NAMES[d["RecordType"]],
                        en_us(utc(d["CreationTime"])),
                        d["UserId"],
                        d["Operation"],
                        cmdlet_audit_data(d),
                        str(i),
                        str(len(rows)),
                        d["Id"],
                        "True",
                        "Unchanged",
                    ]
                )
            )
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        self.write(rel, ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-16-le"))

    # ---- 4. Search-UnifiedAuditLog | ConvertTo-Json (Windows PowerShell 5.1) -----------------

    @staticmethod
    def ps51_string(s: str) -> str:
        """JavaScriptSerializer escaping as used by Windows PowerShell 5.1 ConvertTo-Json."""
        out = ['"']
        for ch in s:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch in "<>&'":
                out.append(f"\\u{ord(ch):04x}")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    def ps_json(self) -> None:
        rel = "powershell/ual_adele_sendas.json"
        fl = self.log(rel, "search-unifiedauditlog-ps51-json")
        rows = newest_first(
            d
            for d in self.records
            if d["Operation"] in ("SendAs", "SendOnBehalf")
            and str(d["UserId"]).lower() == self.adele.upn
        )
        objs = []
        for i, d in enumerate(rows, 1):
            ms = int(utc(d["CreationTime"]).timestamp()) * 1000
            props = [
                ("RunspaceId", self.ps51_string(self.runspace)),
                ("RecordType", self.ps51_string(RECORD_TYPE_NAMES[d["RecordType"]])),
                ("CreationDate", f'"\\/Date({ms})\\/"'),
                ("UserIds", self.ps51_string(d["UserId"])),
                ("Operations", self.ps51_string(d["Operation"])),
                ("AuditData", self.ps51_string(cmdlet_audit_data(d))),
                ("ResultIndex", str(i)),
                ("ResultCount", str(len(rows))),
                ("Identity", self.ps51_string(d["Id"])),
                ("IsValid", "true"),
                ("ObjectState", self.ps51_string("Unchanged")),
            ]
            body = ",\r\n".join(f'        "{k}":  {v}' for k, v in props)
            objs.append("    {\r\n" + body + "\r\n    }")
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        text = "[\r\n" + ",\r\n".join(objs) + "\r\n]\r\n"
        self.write(rel, ("\ufeff" + text).encode("utf-8"))

    # ---- 5. Management Activity API content blob ---------------------------------------------

    def api_blob(self) -> None:
        rel = "api/Audit.Exchange_2022-03-28.json"
        fl = self.log(rel, "management-api-blob")
        rows = [
            d for d in self.records if d["Workload"] == "Exchange" and self.on_day(d, "2022-03-28")
        ]
        retried = [d for d in rows if self.rnd.random() < 0.06]
        blob = rows + retried  # service retries deliver some records twice
        self.rnd.shuffle(blob)  # content is not in time order
        for d in blob:
            fl.ids.append(d["Id"])
        fl.rows = len(blob)
        self.write(rel, orjson.dumps(blob))

    # ---- 6. Untitled Goose Tool JSONL --------------------------------------------------------

    def goose_jsonl(self) -> None:
        rel = "collectors/ual_2022-03-29.jsonl"
        fl = self.log(rel, "jsonl-auditdata")
        rows = [d for d in self.records if self.on_day(d, "2022-03-29")]
        text = "".join(json.dumps(d) + "\n" for d in rows)
        for d in rows:
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        self.write(rel, text.encode("ascii"))

    # ---- 7. Microsoft Graph auditLogRecord page ----------------------------------------------

    def graph_page(self) -> None:
        rel = "graph/auditLogRecords_page1.json"
        fl = self.log(rel, "graph-auditlogrecords")
        wanted = ["attacker:signin", "attacker:rule", "attacker:mapi", "attacker:send"]
        wanted += ["attacker:harddelete", "attacker:rest:throttle"]
        picked: list[Record] = []
        for d in self.records:
            tag = self.tags[d["Id"]]
            if tag in wanted or (tag.startswith("attacker:owa") and d["RecordType"] == 50):
                picked.append(d)
        # every record type but only the first two OWA binds of each address
        seen: Counter[str] = Counter()
        rows = []
        for d in picked:
            key = self.tags[d["Id"]] + ("" if d["RecordType"] != 50 else "-bind")
            seen[key] += 1
            if d["RecordType"] == 50 and seen[key] > 2 and "throttle" not in key:
                continue
            rows.append(d)
        query = str(uuid.uuid5(cg.NAMESPACE, "graph/auditLogQuery"))
        value = []
        for d in rows:
            rtype, odata = GRAPH_TYPES[d["RecordType"]]
            client_ip = str(d.get("ClientIP") or d.get("ClientIPAddress") or "")
            value.append(
                {
                    "id": d["Id"],
                    "createdDateTime": d["CreationTime"] + "Z",
                    "auditLogRecordType": rtype,
                    "operation": d["Operation"],
                    "organizationId": d["OrganizationId"],
                    "userType": "regular" if d["UserType"] == 0 else "admin",
                    "userId": d["UserId"],
                    "service": d["Workload"],
                    "objectId": d.get("ObjectId", ""),
                    "userPrincipalName": str(d["UserId"]).lower(),
                    "clientIp": client_ip,
                    "administrativeUnits": [],
                    "auditData": {"@odata.type": odata, **d},
                }
            )
            fl.ids.append(d["Id"])
        fl.rows = len(value)
        base = "https://graph.microsoft.com/v1.0"
        page = {
            "@odata.context": f"{base}/$metadata#security/auditLog/queries('{query}')/records",
            "value": value,
            "@odata.nextLink": (
                f"{base}/security/auditLog/queries/{query}/records?$skiptoken="
                + base64.urlsafe_b64encode(hashlib.sha256(query.encode()).digest())
                .decode()
                .rstrip("=")
            ),
        }
        self.write(rel, orjson.dumps(page))

    # ---- 8. Sentinel OfficeActivity export ---------------------------------------------------

    def sentinel(self) -> None:
        rel = "sentinel/OfficeActivity_megan.csv"
        fl = self.log(rel, "sentinel-officeactivity-csv")
        want = {
            "attacker:owa": 1,
            "attacker:owa-replay": 1,
            "attacker:mapi": 1,
            "attacker:rule": 1,
            "attacker:send": 1,
            "sendas:owner-artifact": 1,
        }
        rows: list[Record] = []
        for d in self.records:
            tag = self.tags[d["Id"]]
            if want.get(tag, 0) > 0 and d["Workload"] == "Exchange":
                want[tag] -= 1
                rows.append(d)
        owner_bind = next(
            d
            for d in self.records
            if self.tags[d["Id"]] == "owner"
            and d.get("MailboxOwnerUPN") == self.megan.upn
            and d["RecordType"] == 50
            and d.get("SessionId")
            and self.on_day(d, "2022-03-28")
            and d["CreationTime"] > "2022-03-28T09:00:00"
        )
        rows.append(owner_bind)
        rows = newest_first(rows)
        workspace = str(uuid.uuid5(cg.NAMESPACE, "sentinel/workspace"))

        def js(key: str, d: Record) -> str:
            return compact(d[key]) if key in d else ""

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(SENTINEL_COLUMNS)
        for d in rows:
            item = d.get("Item") or {}
            values = {
                "TenantId": workspace,
                "TimeGenerated [UTC]": en_us(utc(d["CreationTime"]), millis=True, comma=True),
                "OfficeWorkload": d["Workload"],
                "RecordType": RECORD_TYPE_NAMES[d["RecordType"]],
                "Operation": d["Operation"],
                "OrganizationId": d["OrganizationId"],
                "UserType": "Regular" if d["UserType"] == 0 else "Admin",
                "UserKey": d["UserKey"],
                "ResultStatus": d.get("ResultStatus", ""),
                "OfficeObjectId": d.get("ObjectId", ""),
                "UserId": d["UserId"],
                "ClientIP": d.get("ClientIP", ""),
                "ExternalAccess": str(d.get("ExternalAccess", "")),
                "OfficeTenantId": d["OrganizationId"],
                "OriginatingServer": str(d.get("OriginatingServer", "")).strip(),
                "LogonUserSid": d.get("LogonUserSid", ""),
                "LogonUserDisplayName": "",
                "Logon_Type": str(d.get("LogonType", "")),
                "InternalLogonType": str(d.get("InternalLogonType", "")),
                "MailboxGuid": d.get("MailboxGuid", ""),
                "MailboxOwnerUPN": d.get("MailboxOwnerUPN", ""),
                "MailboxOwnerSid": d.get("MailboxOwnerSid", ""),
                "MailboxOwnerMasterAccountSid": d.get("MailboxOwnerMasterAccountSid", ""),
                "Client_IPAddress": d.get("ClientIPAddress", ""),
                "ClientInfoString": d.get("ClientInfoString", ""),
                "ClientProcessName": d.get("ClientProcessName", ""),
                "ClientVersion": d.get("ClientVersion", ""),
                "ClientMachineName": "",
                "AppId": d.get("AppId", ""),
                "ClientAppId": d.get("ClientAppId", ""),
                "Folder": js("Folder", d),
                "Folders": js("Folders", d),
                "Item": js("Item", d),
                "ItemName": item.get("Subject", ""),
                "AffectedItems": js("AffectedItems", d),
                "DestFolder": js("DestFolder", d),
                "CrossMailboxOperations": str(d["CrossMailboxOperation"])
                if "CrossMailboxOperation" in d
                else "",
                "Parameters": js("Parameters", d),
                "ModifiedProperties": js("ModifiedProperties", d),
                "OperationProperties": js("OperationProperties", d),
                "SendAsUserSmtp": d.get("SendAsUserSmtp", ""),
                "SendAsUserMailboxGuid": d.get("SendAsUserMailboxGuid", ""),
                "SendOnBehalfOfUserSmtp": d.get("SendOnBehalfOfUserSmtp", ""),
                "SendonBehalfOfUserMailboxGuid": d.get("SendOnBehalfOfUserMailboxGuid", ""),
                "OrganizationName": d.get("OrganizationName", ""),
                "SourceRecordId": d["Id"],
                "OfficeId": d["Id"],
                "SourceSystem": "OfficeActivityManager",
                "Type": "OfficeActivity",
            }
            w.writerow([values[c] for c in SENTINEL_COLUMNS])
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        self.write(rel, ("\ufeff" + buf.getvalue()).encode("utf-8"))

    # ---- 9. Search-MailboxAuditLog -ShowDetails | Export-Csv -NoTypeInformation -------------

    def legacy(self) -> None:
        rel = "legacy/mailboxaudit_megan.csv"
        fl = self.log(rel, "search-mailboxauditlog-csv")
        pool = [
            d
            for d in self.records
            if d.get("MailboxOwnerUPN") == self.megan.upn and self.on_day(d, "2022-03-21")
        ]
        quota = {"sync": 2, "bind": 3, "Send": 1, "MoveToDeletedItems": 1, "Update": 1}
        rows = []
        for d in pool:
            kind = d["Operation"]
            if kind == "MailItemsAccessed":
                kind = "bind" if d["RecordType"] == 50 else "sync"
            if quota.get(kind, 0) > 0:
                quota[kind] -= 1
                rows.append(d)
        rows = newest_first(rows)
        names = {m.sid: m.display_name for m in self.case.mailboxes.values()}
        runspace = str(uuid.uuid5(cg.NAMESPACE, "runspace/legacy"))
        lines = [quote_all(LEGACY_COLUMNS)]
        for d in rows:
            item = d.get("Item") or {}
            parent = item.get("ParentFolder") or {}
            folder = d.get("Folder") or parent
            dest = d.get("DestFolder") or {}
            affected = d.get("AffectedItems") or []
            props = " ".join(
                f"{p['Name']}:{p.get('Value', '')}" for p in d.get("OperationProperties", [])
            )
            is_item = d["RecordType"] == 2 and "InternetMessageId" in item
            values = {
                "RunspaceId": runspace,
                "Operation": d["Operation"],
                "OperationResult": "Succeeded",
                "LogonType": LOGON_NAMES[d["LogonType"]],
                "ExternalAccess": "False",
                "DestFolderId": dest.get("Id", ""),
                "DestFolderPathName": dest.get("Path", ""),
                "FolderId": folder.get("Id", ""),
                "FolderPathName": folder.get("Path", ""),
                "FolderName": folder.get("Name", ""),
                "MemberRights": "",
                "MemberSid": "",
                "MemberUpn": "",
                "ClientInfoString": d.get("ClientInfoString", ""),
                "ClientIPAddress": d.get("ClientIPAddress", ""),
                "ClientIP": d.get("ClientIP", ""),
                "ClientMachineName": "",
                "ClientProcessName": d.get("ClientProcessName", ""),
                "ClientVersion": d.get("ClientVersion", ""),
                "InternalLogonType": LOGON_NAMES[d["InternalLogonType"]],
                "MailboxOwnerUPN": d["MailboxOwnerUPN"],
                "MailboxOwnerSid": d["MailboxOwnerSid"],
                "DestMailboxOwnerUPN": "",
                "DestMailboxOwnerSid": "",
                "DestMailboxGuid": "",
                "CrossMailboxOperation": "False" if d["RecordType"] == 3 else "",
                "LogonUserDisplayName": names.get(d["LogonUserSid"], ""),
                "LogonUserSid": d["LogonUserSid"],
                "SourceItems": "",
                "SourceFolders": "",
                "SourceItemIdsList": ", ".join(a["Id"] for a in affected),
                "SourceItemSubjectsList": ", ".join(a["Subject"] for a in affected),
                "SourceItemAttachmentsList": "",
                "SourceItemFolderPathNamesList": ", ".join(
                    a["ParentFolder"]["Path"] for a in affected
                ),
                "SourceFolderPathNamesList": "",
                "SourceItemInternetMessageIdsList": ", ".join(
                    a["InternetMessageId"] for a in affected
                ),
                "ItemId": item.get("Id", "") if is_item else "",
                "ItemSubject": item.get("Subject", ""),
                "ItemAttachments": item.get("Attachments", ""),
                "ItemInternetMessageId": item.get("InternetMessageId", ""),
                "DirtyProperties": ", ".join(d.get("ModifiedProperties", [])),
                "OriginatingServer": d["OriginatingServer"],  # keeps its trailing CR LF
                "SessionId": d.get("SessionId", ""),
                "OperationProperties": props,
                "AuditOperationsCountInAggregatedRecord": str(d.get("OperationCount", "")),
                "AggregatedRecordFoldersData": compact(d["Folders"]) if "Folders" in d else "",
                "AppId": d.get("AppId", ""),
                "ClientAppId": d.get("ClientAppId", ""),
                "ItemIsRecord": "False" if is_item else "",
                "ItemComplianceLabel": "",
                "MailboxGuid": d["MailboxGuid"],
                "MailboxResolvedOwnerName": self.megan.display_name,
                "LastAccessed": en_us(utc(d["CreationTime"])),
                "Identity": d["Id"],
                "IsValid": "True",
                "ObjectState": "Unchanged",
            }
            lines.append(quote_all(values[c] for c in LEGACY_COLUMNS))
            fl.ids.append(d["Id"])
        fl.rows = len(rows)
        text = "\r\n".join(lines) + "\r\n"
        # Export-Csv in Windows PowerShell 5.1 defaults to ASCII: non-ASCII becomes "?"
        self.write(rel, text.encode("ascii", errors="replace"))

    # ---- 10. a damaged Purview CSV ------------------------------------------------------------

    def purview_broken(self) -> None:
        rel = "purview/AuditLog_broken.csv"
        fl = self.log(rel, "purview-new-csv")
        last_day = newest_first(d for d in self.records if self.on_day(d, "2022-04-02"))
        bulk_id = self.case.truth["bulk_record_id"]
        no_time = next(
            d for d in last_day if d["Workload"] == "Exchange" and d["UserId"].startswith("alex")
        )
        cut = next(
            d for d in last_day if d["Workload"] == "Exchange" and d["UserId"].startswith("diego")
        )
        # overlap with the main export: the newest record of 2022-04-01
        dup = newest_first(d for d in self.records if self.on_day(d, "2022-04-01"))[0]
        lines = [cg.PURVIEW_HEADER]
        for d in [*last_day, dup]:
            line_no = len(lines) + 1
            if d["Id"] == bulk_id:
                text = compact(d)
                assert len(text) > EXCEL_CELL_LIMIT
                lines.append(cg.purview_csv_row(d, text[:EXCEL_CELL_LIMIT]))
                fl.malformed.append(
                    {
                        "line": line_no,
                        "record_id": d["Id"],
                        "problem": "AuditData is not valid JSON: cut at 32,767 characters "
                        f"(Excel cell limit) from {len(text)}",
                        "recoverable": False,
                    }
                )
            elif d["Id"] == cut["Id"]:
                lines.append(",".join(cg.purview_csv_row(d).split(",")[:5]))
                fl.malformed.append(
                    {
                        "line": line_no,
                        "record_id": d["Id"],
                        "problem": "row has 5 of 8 columns: AuditData and the admin-unit "
                        "columns are missing",
                        "recoverable": False,
                    }
                )
            elif d["Id"] == no_time["Id"]:
                stripped = {k: v for k, v in d.items() if k != "CreationTime"}
                lines.append(cg.purview_csv_row(d, compact(stripped)))
                fl.ids.append(d["Id"])
                fl.malformed.append(
                    {
                        "line": line_no,
                        "record_id": d["Id"],
                        "problem": "AuditData has no CreationTime; the CreationDate column "
                        f"({d['CreationTime']}.0000000Z) is the only timestamp",
                        "recoverable": True,
                        "creation_time": d["CreationTime"] + "Z",
                    }
                )
            else:
                lines.append(cg.purview_csv_row(d))
                fl.ids.append(d["Id"])
                if d is dup:
                    self.broken_dup = (line_no, d["Id"])
        fl.rows = len(lines) - 1
        self.write(rel, ("\r\n".join(lines) + "\r\n").encode("utf-8"))

    # ---- expected.json ------------------------------------------------------------------------

    def expected(self) -> dict[str, Any]:
        recs = self.records
        tag = self.tags
        megan = self.megan
        att = [d for d in recs if tag[d["Id"]].startswith("attacker")]
        att_x = [d for d in att if d["Workload"] == "Exchange"]

        def addr(d: Record) -> str:
            ip = str(d.get("ClientIPAddress") or d.get("ClientIP"))
            if ip.count(":") == 1:  # v4 with port
                ip = ip.split(":")[0]
            return ip

        aad = sorted(
            {d["AppAccessContext"]["AADSessionId"] for d in att if "AppAccessContext" in d}
            | {
                p["Value"]
                for d in att
                for p in d.get("DeviceProperties", [])
                if p["Name"] == "SessionId"
            }
        )
        assert len(aad) == 1
        apps = sorted(
            {d["AppId"] for d in att_x if d.get("ClientInfoString", "").startswith("Client=REST")}
        )
        assert len(apps) == 1
        contexts: dict[tuple[str, ...], list[Record]] = defaultdict(list)
        for d in att_x:
            key = (
                addr(d),
                d.get("SessionId", ""),
                d.get("ClientInfoString", ""),
                d.get("AppId", ""),
            )
            contexts[key].append(d)
        ctx_list = [
            {
                "ClientIPAddress": k[0],
                "SessionId": k[1] or None,
                "ClientInfoString": k[2] or None,
                "AppId": k[3] or None,
                "records": len(v),
                "operations": dict(sorted(Counter(d["Operation"] for d in v).items())),
                "first": min(d["CreationTime"] for d in v) + "Z",
                "last": max(d["CreationTime"] for d in v) + "Z",
            }
            for k, v in sorted(
                contexts.items(), key=lambda kv: min(d["CreationTime"] for d in kv[1])
            )
        ]
        bound: dict[tuple[str, str], set[str]] = defaultdict(set)
        for d in att_x:
            if d["RecordType"] != 50:
                continue
            for fo in d["Folders"]:
                for it in fo["FolderItems"]:
                    bound[(it["InternetMessageId"], fo["Path"])].add(tag[d["Id"]])
        bound_list = [
            {"InternetMessageId": imid, "Folder": path, "contexts": sorted(labels)}
            for (imid, path), labels in sorted(bound.items())
        ]
        synced = [
            {
                "record_id": d["Id"],
                "time": d["CreationTime"] + "Z",
                "folder_name": d["Item"]["ParentFolder"]["Name"],
                "folder_path": "\\" + d["Item"]["ParentFolder"]["Name"],
                "path_in_record": d["Item"]["ParentFolder"]["Path"],
                "ClientIPAddress": d["ClientIPAddress"],
                "SessionId": d["SessionId"],
            }
            for d in att_x
            if d["Operation"] == "MailItemsAccessed" and d["RecordType"] == 2
        ]
        thr_id = self.case.truth["throttle_record_id"]
        thr = self.by_id[thr_id]
        thr_t = utc(thr["CreationTime"])

        def megan_mia(lo: datetime, hi: datetime, rt: int | None = None) -> list[Record]:
            return [
                d
                for d in recs
                if d["Operation"] == "MailItemsAccessed"
                and d.get("MailboxOwnerUPN") == megan.upn
                and lo <= utc(d["CreationTime"]) < hi
                and (rt is None or d["RecordType"] == rt)
            ]

        win_end = thr_t + timedelta(hours=24)
        binds_after = [d for d in megan_mia(thr_t, win_end, 50) if d["Id"] != thr_id]
        assert not binds_after
        syncs_after = megan_mia(thr_t, win_end, 2)
        assert syncs_after
        classes: dict[str, list[str]] = {
            "delegate_send_as": [],
            "owner_logged_as_send_as": [],
            "send_on_behalf": [],
            "inconsistent": [],
        }
        names = {
            "sendas:delegate": "delegate_send_as",
            "sendas:owner-artifact": "owner_logged_as_send_as",
            "sendonbehalf": "send_on_behalf",
            "sendas:inconsistent": "inconsistent",
        }
        for d in recs:
            if d["Operation"] in ("SendAs", "SendOnBehalf"):
                classes[names[tag[d["Id"]]]].append(d["Id"])
                assert utc(d["CreationTime"]) > cg.MC382148_END
        case_start = cg.CASE_START
        case_end = cg.CASE_START + timedelta(days=cg.CASE_DAYS) - timedelta(seconds=1)
        rule = next(d for d in att if d["Operation"] == "New-InboxRule")
        rule_params = {p["Name"]: p["Value"] for p in rule["Parameters"]}
        upd = next(d for d in att if d["Operation"] == "UpdateInboxRules")
        send = next(d for d in att if tag[d["Id"]] == "attacker:send")
        hard = next(d for d in att if tag[d["Id"]] == "attacker:harddelete")
        owner_ctx: dict[tuple[str, str, str], int] = Counter()
        for d in recs:
            if (
                tag[d["Id"]] == "owner"
                and d.get("MailboxOwnerUPN") == megan.upn
                and self.on_day(d, "2022-03-28")
            ):
                owner_ctx[
                    (d["ClientIPAddress"], d.get("SessionId", ""), d["ClientInfoString"])
                ] += 1
        # records per file
        per_file: dict[str, Any] = {}
        where: dict[str, set[str]] = defaultdict(set)
        for fl in self.logs:
            for rid in fl.ids:
                where[rid].add(fl.path)
        for fl in self.logs:
            distinct = set(fl.ids)
            shared = {rid for rid in distinct if len(where[rid]) > 1}
            per_file[fl.path] = {
                "shape": fl.shape,
                "data_rows": fl.rows,
                "records": len(fl.ids),
                "distinct_ids": len(distinct),
                "duplicate_copies_within_file": len(fl.ids) - len(distinct),
                "ids_also_in_other_files": len(shared),
                "ids_only_in_this_file": len(distinct) - len(shared),
                "malformed_rows": len(fl.malformed),
            }
        total = sum(len(fl.ids) for fl in self.logs)
        malformed = [{"file": fl.path, **m} for fl in self.logs for m in fl.malformed]
        unrecoverable = sorted(m["record_id"] for m in malformed if not m["recoverable"])
        dup_line, dup_id = self.broken_dup
        other = sorted(where[dup_id] - {"purview/AuditLog_broken.csv"})
        return {
            "about": (
                "Ground truth of the fictional sample case, computed by samples/make_case.py "
                "from the records it wrote. Times are UTC."
            ),
            "generator": {"module": "samples/casegen.py", "seed": self.case.seed},
            "tenant": {
                "domain": cg.DOMAIN,
                "OrganizationName": cg.ORGANIZATION_NAME,
                "OrganizationId": cg.ORGANIZATION_ID,
            },
            "window": {"start": cg.iso_z(case_start), "end": cg.iso_z(case_end)},
            "mailboxes": [
                {
                    "upn": m.upn,
                    "display_name": m.display_name,
                    "MailboxGuid": m.guid,
                    "shared": m.shared,
                    "role": {
                        cg.VICTIM: "victim (CFO)",
                        cg.DELEGATE: "delegate of megan.bowen (SendAs, SendOnBehalf)",
                        cg.SHARED: "shared mailbox (delegates adele.vance, lee.gu)",
                    }.get(m.alias, "user"),
                }
                for m in self.case.mailboxes.values()
            ],
            "victim": megan.upn,
            "attacker": {
                "client_addresses": sorted({addr(d) for d in att}),
                "session_ids": sorted({d["SessionId"] for d in att_x if d.get("SessionId")}),
                "aad_session_id": aad[0],
                "app_id": apps[0],
                "token_replay": {
                    "SessionId": self.case.truth["attacker_owa_session"],
                    "UniqueTokenId": self.case.truth["attacker_owa_token"],
                    "addresses": sorted(
                        {
                            d["ClientIPAddress"]
                            for d in att_x
                            if d.get("SessionId") == self.case.truth["attacker_owa_session"]
                            and "ClientIPAddress" in d
                        }
                    ),
                },
                "first_activity": min(d["CreationTime"] for d in att) + "Z",
                "last_activity": max(d["CreationTime"] for d in att) + "Z",
                "records": len(att),
                "record_ids": sorted(d["Id"] for d in att),
                "contexts": ctx_list,
            },
            "victim_contexts_on_2022-03-28": [
                {
                    "ClientIPAddress": k[0],
                    "SessionId": k[1] or None,
                    "ClientInfoString": k[2],
                    "records": n,
                }
                for k, n in sorted(owner_ctx.items())
            ],
            "attacker_bound_messages": bound_list,
            "attacker_bound_message_count": len({imid for imid, _ in bound}),
            "attacker_synced_folders": synced,
            "inbox_rule": {
                "new_inbox_rule_record_id": rule["Id"],
                "update_inbox_rules_record_id": upd["Id"],
                "name": rule_params["Name"],
                "forward_to": rule_params["ForwardTo"],
                "ClientIP": rule["ClientIP"],
            },
            "attacker_sent_message": {
                "InternetMessageId": send["Item"]["InternetMessageId"],
                "send_record_id": send["Id"],
                "hard_delete_record_id": hard["Id"],
                "hard_deleted_from": hard["Folder"]["Path"],
            },
            "throttling": {
                "mailbox": megan.upn,
                "record_id": thr_id,
                "time": thr["CreationTime"] + "Z",
                "assume_compromised_until": cg.iso_z(win_end),
                "mailitemsaccessed_records_in_preceding_24h": len(
                    megan_mia(thr_t - timedelta(hours=24), thr_t)
                ),
                "bind_records_in_window_after_throttle": len(binds_after),
                "sync_records_in_window_after_throttle": len(syncs_after),
                "note": "case is compressed: a real mailbox is throttled after more than 1,000 "
                "MailItemsAccessed records in 24 h",
            },
            "send_as": classes,
            "outages": [
                {
                    "notice": "MC382148",
                    "operations": ["SendAs", "SendOnBehalf"],
                    "start": cg.iso_z(cg.MC382148_START),
                    "end": cg.iso_z(cg.MC382148_END),
                    "overlap_with_case_window": {
                        "start": cg.iso_z(max(case_start, cg.MC382148_START)),
                        "end": cg.iso_z(min(case_end, cg.MC382148_END)),
                    },
                    "send_records_in_overlap": sum(
                        1
                        for d in recs
                        if d["Operation"] in ("SendAs", "SendOnBehalf")
                        and utc(d["CreationTime"]) <= cg.MC382148_END
                    ),
                }
            ],
            "malformed_rows": malformed,
            "unrecoverable_record_ids": unrecoverable,
            "duplicate_of_other_file": {
                "file": "purview/AuditLog_broken.csv",
                "line": dup_line,
                "record_id": dup_id,
                "also_in": other,
            },
            "records": {
                "unique": len(where),
                "copies_in_all_files": total,
                "duplicate_copies": total - len(where),
                "generated": len(recs),
                "per_file": per_file,
            },
            "definitions": {
                "records": "usable record copies in the file (AuditData or flat row with an "
                "Id); malformed rows whose record cannot be recovered are not counted",
                "unique": "distinct AuditData.Id over all files",
                "duplicate_copies": "copies_in_all_files - unique",
                "data_rows": "CSV data rows, JSON objects or JSONL lines, malformed included",
            },
        }

    # ---- all ----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.purview_main()
        self.purview_classic()
        self.ps_csv()
        self.ps_json()
        self.api_blob()
        self.goose_jsonl()
        self.graph_page()
        self.sentinel()
        self.legacy()
        self.purview_broken()
        exp = self.expected()
        exp["files"] = {
            fl.path: hashlib.sha256((OUT / fl.path).read_bytes()).hexdigest() for fl in self.logs
        }
        text = json.dumps(exp, indent=2, ensure_ascii=False) + "\n"
        # Beside the case, not in it: the case folder holds only evidence, so that
        # `ualscope samples/case` reads exports and nothing else.
        (OUT.parent / "case-expected.json").write_bytes(text.encode("utf-8"))
        return exp


# --------------------------------------------------------------------------------------------
# Read-back check with independent minimal parsers
# --------------------------------------------------------------------------------------------


def _csv_rows(text: str) -> list[list[str]]:
    csv.field_size_limit(2**31 - 1)
    return list(csv.reader(io.StringIO(text, newline="")))


def _ids_purview(path: Path, col: int, header_lines: int = 1) -> tuple[list[str], int]:
    rows = _csv_rows(path.read_bytes().decode("utf-8-sig"))[header_lines:]
    ids = []
    for row in rows:
        if len(row) <= col:
            continue
        try:
            ids.append(json.loads(row[col])["Id"])
        except json.JSONDecodeError:
            continue
    return ids, len(rows)


def verify(exp: dict[str, Any]) -> None:
    readers: dict[str, Callable[[Path], tuple[list[str], int]]] = {
        "purview/AuditLog_2022-03-20_2022-04-02.csv": lambda p: _ids_purview(p, 5),
        "purview/classic_megan_2022-03-28.csv": lambda p: _ids_purview(p, 3),
        "purview/AuditLog_broken.csv": lambda p: _ids_purview(p, 5),
    }

    def ps_csv(p: Path) -> tuple[list[str], int]:
        raw = p.read_bytes()
        assert raw.startswith(b"\xff\xfe")
        rows = _csv_rows(raw.decode("utf-16"))
        assert rows[0][0].startswith("#TYPE ") and rows[1][0] == "RunspaceId"
        return [json.loads(r[5])["Id"] for r in rows[2:]], len(rows) - 2

    def ps_json(p: Path) -> tuple[list[str], int]:
        objs = json.loads(p.read_bytes().decode("utf-8-sig"))
        return [json.loads(o["AuditData"])["Id"] for o in objs], len(objs)

    def api(p: Path) -> tuple[list[str], int]:
        objs = json.loads(p.read_bytes())
        return [o["Id"] for o in objs], len(objs)

    def jsonl(p: Path) -> tuple[list[str], int]:
        lines = p.read_text("ascii").splitlines()
        return [json.loads(line)["Id"] for line in lines], len(lines)

    def graph(p: Path) -> tuple[list[str], int]:
        page = json.loads(p.read_bytes())
        return [v["auditData"]["Id"] for v in page["value"]], len(page["value"])

    def dict_csv(col: str, enc: str) -> Callable[[Path], tuple[list[str], int]]:
        def read(p: Path) -> tuple[list[str], int]:
            rows = list(csv.DictReader(io.StringIO(p.read_bytes().decode(enc), newline="")))
            return [r[col] for r in rows], len(rows)

        return read

    readers.update(
        {
            "powershell/ual_megan.csv": ps_csv,
            "powershell/ual_adele_sendas.json": ps_json,
            "api/Audit.Exchange_2022-03-28.json": api,
            "collectors/ual_2022-03-29.jsonl": jsonl,
            "graph/auditLogRecords_page1.json": graph,
            "sentinel/OfficeActivity_megan.csv": dict_csv("OfficeId", "utf-8-sig"),
            "legacy/mailboxaudit_megan.csv": dict_csv("Identity", "ascii"),
        }
    )
    per_file = exp["records"]["per_file"]
    assert set(readers) == set(per_file), set(readers) ^ set(per_file)
    union: Counter[str] = Counter()
    for rel, read in readers.items():
        ids, rows = read(OUT / rel)
        want = per_file[rel]
        got = (len(ids), len(set(ids)), rows)
        assert got == (want["records"], want["distinct_ids"], want["data_rows"]), (rel, got)
        union.update(set(ids))
    assert len(union) == exp["records"]["unique"]
    # malformed rows sit on the physical lines announced
    for m in exp["malformed_rows"]:
        lines = (OUT / m["file"]).read_bytes().decode("utf-8-sig").split("\r\n")
        assert lines[m["line"] - 1].startswith(m["record_id"] + ","), m
    # every address comes from a documentation range
    docs = [
        ipaddress.ip_network(n)
        for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    ]
    main = OUT / "purview/AuditLog_2022-03-20_2022-04-02.csv"
    for row in _csv_rows(main.read_bytes().decode("utf-8-sig"))[1:]:
        ad = json.loads(row[5])
        for key in ("ClientIP", "ClientIPAddress", "ActorIpAddress"):
            if key in ad:
                ip = ad[key]
                ip = ip.rsplit(":", 1)[0] if ip.count(":") == 1 else ip
                assert any(ipaddress.ip_address(ip) in n for n in docs), (key, ip)
    assert exp["outages"][0]["send_records_in_overlap"] == 0


def check_story(case: cg.Case) -> None:
    """Invariants the story promises (see samples/README.md)."""
    sessions: dict[tuple[str, str], set[str]] = defaultdict(set)
    last_bind: dict[tuple[str, ...], datetime] = {}
    bound: dict[tuple[str, ...], datetime] = {}
    for d in case.records:
        t = utc(d["CreationTime"])
        if d["Operation"] in ("SendAs", "SendOnBehalf"):
            assert t > cg.MC382148_END, d["Id"]
        if case.tags[d["Id"]] == "owner" and d.get("SessionId"):
            sessions[(str(d["UserId"]).lower(), d["CreationTime"][:10])].add(d["SessionId"])
        if d["RecordType"] != 50:
            continue
        keys = ("ClientIPAddress", "ClientInfoString", "LogonType", "MailboxOwnerUPN")
        ctx = (*(str(d.get(k, "")) for k in keys), str(d["UserId"]).lower())
        ctx = (*ctx, str(d.get("SessionId", "")))
        if ctx in last_bind:
            assert t - last_bind[ctx] >= timedelta(minutes=2), d["Id"]
        last_bind[ctx] = t
        for fo in d["Folders"]:
            assert len(fo["FolderItems"]) > 0
            for it in fo["FolderItems"]:
                key = (*ctx, fo["Path"], it["InternetMessageId"])
                if key in bound:
                    assert t - bound[key] >= timedelta(hours=1), d["Id"]
                bound[key] = t
        assert d["OperationCount"] == sum(len(fo["FolderItems"]) for fo in d["Folders"])
    assert max(len(s) for s in sessions.values()) <= 3


def main() -> int:
    case = cg.build_case()
    check_story(case)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    exp = CaseWriter(case).run()
    verify(exp)
    for rel, info in exp["records"]["per_file"].items():
        size = (OUT / rel).stat().st_size
        print(f"{rel:48} {size:>10,} bytes {info['records']:>6} records")
    r = exp["records"]
    print(
        f"unique records {r['unique']}, copies {r['copies_in_all_files']}, "
        f"duplicates {r['duplicate_copies']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
