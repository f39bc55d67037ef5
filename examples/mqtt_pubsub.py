# MQTT with micropython-lib's umqtt.simple, through the WizFi360: subscribe to
# a topic, publish a message to it, and wait for the broker to deliver it back.
# umqtt.simple opens its connection with `import usocket`; wizfi360.install()
# makes that name the WizFi360's socket module, so it runs unchanged.
# On a board (see README.md here): `mpremote mip install umqtt.simple` once, then
#   .venv/bin/mpremote cp examples/settings.py : + run examples/mqtt_pubsub.py
import errno
import time
from binascii import hexlify

from machine import UART, Pin

import settings
import wizfi360

WAIT_MS = 10000  # how long to wait for our message to come back


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    wifi.connect(settings.SSID, settings.KEY)  # raises OSError saying why it failed
    wizfi360.install()
    from umqtt.simple import MQTTClient

    received = []
    client_id = b"wizfi360-" + hexlify(wifi.config("mac"))  # unique on the broker
    client = MQTTClient(client_id, settings.MQTT_BROKER, settings.MQTT_PORT)
    client.set_callback(lambda topic, msg: received.append((topic, msg)))
    print("connecting to %s:%d as %s" % (settings.MQTT_BROKER, settings.MQTT_PORT, client_id.decode()))
    # OSError if the broker cannot be reached. umqtt.simple waits for the broker's
    # answers (here and in subscribe) without a deadline: a firmware that must not
    # hang on a broker that stops answering runs a watchdog, as main.py does.
    client.connect()
    try:
        topic = settings.MQTT_TOPIC.encode()
        client.subscribe(topic)
        message = b"hello from " + client_id
        client.publish(topic, message)
        print("published", message, "to", topic)
        deadline = time.ticks_add(time.ticks_ms(), WAIT_MS)
        while not received:
            client.check_msg()  # takes in what the broker sent, without waiting
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                raise OSError(errno.ETIMEDOUT, "no message on %s from the broker" % settings.MQTT_TOPIC)
            time.sleep_ms(20)
    finally:
        client.disconnect()
    print("received", received[0][1], "on", received[0][0])
    return received[0]


if __name__ == "__main__":
    main()
