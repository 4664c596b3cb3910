"""Genesys Cloud regions: the table of region domains and their API and login hosts.

Every region has one domain; its Platform API is ``https://api.<domain>`` and its OAuth
server ``https://login.<domain>`` (``POST /oauth/token``). The table follows the official
Python SDK (``PureCloudPlatformClientV2.PureCloudRegionHosts``, v269), where each region
is named by its AWS region; either name, or the domain itself, selects a region.

This module is data plus two look-ups and imports nothing heavy: the config validator uses
it to reject an unknown region with a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches


@dataclass(frozen=True, slots=True)
class Region:
    """One Genesys Cloud region."""

    domain: str
    aws_region: str
    location: str

    @property
    def api_url(self) -> str:
        return f"https://api.{self.domain}"

    @property
    def login_url(self) -> str:
        return f"https://login.{self.domain}"


REGIONS: tuple[Region, ...] = (
    Region("mypurecloud.com", "us-east-1", "Americas (US East, Virginia)"),
    Region("use2.us-gov-pure.cloud", "us-east-2", "Americas (US East 2, FedRAMP)"),
    Region("usw2.pure.cloud", "us-west-2", "Americas (US West, Oregon)"),
    Region("cac1.pure.cloud", "ca-central-1", "Americas (Canada)"),
    Region("sae1.pure.cloud", "sa-east-1", "Americas (São Paulo)"),
    Region("mxc1.pure.cloud", "mx-central-1", "Americas (Mexico)"),
    Region("mypurecloud.ie", "eu-west-1", "EMEA (Dublin)"),
    Region("euw2.pure.cloud", "eu-west-2", "EMEA (London)"),
    Region("mypurecloud.de", "eu-central-1", "EMEA (Frankfurt)"),
    Region("euc2.pure.cloud", "eu-central-2", "EMEA (Zurich)"),
    Region("mec1.pure.cloud", "me-central-1", "EMEA (UAE)"),
    Region("edee1.eusc-pure.cloud", "eusc-de-east-1", "EMEA (EU Sovereign Cloud, Germany)"),
    Region("aps1.pure.cloud", "ap-south-1", "Asia Pacific (Mumbai)"),
    Region("apse1.pure.cloud", "ap-southeast-1", "Asia Pacific (Singapore)"),
    Region("mypurecloud.com.au", "ap-southeast-2", "Asia Pacific (Sydney)"),
    Region("mypurecloud.jp", "ap-northeast-1", "Asia Pacific (Tokyo)"),
    Region("apne2.pure.cloud", "ap-northeast-2", "Asia Pacific (Seoul)"),
    Region("apne3.pure.cloud", "ap-northeast-3", "Asia Pacific (Osaka)"),
)


def _index() -> dict[str, Region]:
    index: dict[str, Region] = {}
    for region in REGIONS:
        index[region.domain] = region
        index[region.aws_region] = region
        index[region.aws_region.replace("-", "_")] = region  # the SDK's attribute names
    return index


_BY_NAME = _index()


def find_region(name: str) -> Region:
    """The region named by its domain (``usw2.pure.cloud``) or AWS name (``us-west-2``).

    A leading ``api.``/``login.``/``apps.`` host label and a scheme are ignored, so a
    login address pasted from a browser works. Raises ValueError with a suggestion.
    """
    key = name.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    for prefix in ("api.", "login.", "apps."):
        key = key.removeprefix(prefix)
    region = _BY_NAME.get(key)
    if region is None:
        close = get_close_matches(key, list(_BY_NAME), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        domains = ", ".join(r.domain for r in REGIONS)
        raise ValueError(f"unknown Genesys Cloud region {name!r}{hint}; regions: {domains}")
    return region
