"""Fake Wi-Fi clients of the SoftAP: addresses from its DHCP pool, and the events a
module prints when they come and go (manual 2.3)."""

import ipaddress

from .atparse import Arg, ParamError


def in_network(config, addrs):
    """True if every address in addrs is on the network of config (ip, gateway, netmask)."""
    net = ipaddress.IPv4Interface("%s/%s" % (config[0], config[2])).network
    return all(ipaddress.IPv4Address(a) in net for a in addrs)


def check_mac(mac):
    """A station's MAC, lower-cased; ValueError unless aa:bb:cc:dd:ee:ff and unicast."""
    try:
        return Arg(mac, True).mac()
    except ParamError as e:
        raise ValueError(str(e)) from None


def free_ip(pool, used):
    """The lowest address of the DHCP pool (lease, first, last) not in used, or None."""
    taken = set(used)
    first, last = (int(ipaddress.IPv4Address(a)) for a in pool[1:])
    for n in range(first, last + 1):
        ip = str(ipaddress.IPv4Address(n))
        if ip not in taken:
            return ip
    return None


def joined_events(mac, ip):
    out = b'+STA_CONNECTED:"%s"\r\n' % mac.encode()
    if ip:
        out += b'+DIST_STA_IP:"%s","%s"\r\n' % (mac.encode(), ip.encode())
    return out


def left_event(mac):
    return b'+STA_DISCONNECTED:"%s"\r\n' % mac.encode()
