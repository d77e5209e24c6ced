import asyncio, ssl
import slixmpp

class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, pw, got=None):
        super().__init__(jid, pw)
        self.got = got
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.msg)
    async def start(self, ev):
        self.send_presence()
        await self.get_roster()
        self.ready.set_result(True)
    def msg(self, m):
        if self.got is not None and not self.got.done():
            self.got.set_result((str(m['from']), m['body']))

async def main():
    loop = asyncio.get_event_loop()
    got = loop.create_future()
    bob = Bot('bob@localhost', 'secret', got=got); bob.ready = loop.create_future()
    alice = Bot('alice@localhost', 'secret'); alice.ready = loop.create_future()
    for c in (bob, alice):
        c.connect(('127.0.0.1', 5222))
    await asyncio.wait_for(asyncio.gather(bob.ready, alice.ready), 15)
    alice.send_message(mto='bob@localhost', mbody='hello from slixmpp', mtype='chat')
    frm, body = await asyncio.wait_for(got, 10)
    print("bob got:", frm, body)
    for c in (bob, alice): c.disconnect()
    await asyncio.sleep(0.5)

asyncio.run(main())
