"""The chat's fixed words for the citizen, in English and Chinese: the lines it writes in the
chat, the confirmations and every refusal the widget can show (the widget's own labels are in
chat.js). The agents' side (/board/chats) is in English and keeps its words in the code."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ChatPhrases:
    # lines in the chat
    queued: str
    nobody: str
    joined: str
    ended: str
    contact_saved: str
    acknowledged: str
    transcript_subject: str
    transcript_you: str
    survey: str
    survey_thanks: str
    # confirmations
    transcript_sent: str
    # refusals (ChatError's phrase, the API's error answers)
    not_json: str
    bad_client_id: str
    no_chat: str
    too_long: str
    far_too_long: str
    empty: str
    ask_person_first: str
    chat_ended: str
    too_many: str
    too_many_from_network: str
    already_handed_over: str
    not_published: str
    bad_email: str
    bad_phone: str
    contact_missing: str
    not_taken: str
    nothing_to_send: str
    transcript_limit: str
    bad_score: str
    not_your_question: str
    bad_have: str
    token_missing: str
    token_expired: str
    token_invalid: str
    origin_refused: str
    not_found: str
    refused: str


PHRASES = {
    "en": ChatPhrases(
        queued="Thank you. An agent will be with you shortly. Your reference is {reference}.",
        nobody=("Nobody can take the chat right now (we are closed or every agent is busy). "
                "Your message is saved as case {reference}: leave an email address or phone "
                "number below and we will reply there."),
        joined="{name} joined the chat.",
        ended="The chat has ended.",
        contact_saved="Thank you: we will reply to {where}.",
        acknowledged="We have your message: reference {reference}.",
        transcript_subject="Chat transcript",
        transcript_you="You",
        survey=("How satisfied are you with how we handled {reference}? "
                "Choose 1 (not at all) to 5 (very)."),
        survey_thanks="Thank you for your answer: {score} out of 5.",
        transcript_sent="The transcript is on its way.",
        not_json="Send a JSON object.",
        bad_client_id="The message id is not valid.",
        no_chat="This chat does not exist any more: please start a new chat.",
        too_long="The message is too long ({count} characters; at most {limit}).",
        far_too_long="The message is far too long (the request is over {limit} bytes).",
        empty="The message is empty.",
        ask_person_first="Ask for a person first.",
        chat_ended="This chat has ended.",
        too_many="Too many messages: at most {limit} a minute. Please wait a moment.",
        too_many_from_network=("Too many messages from your network: at most {limit} a "
                               "minute. Please wait a moment."),
        already_handed_over="This chat is already with a person or has ended.",
        not_published="That article is not published.",
        bad_email="That does not look like an email address: please check it.",
        bad_phone="That does not look like a phone number: please check it.",
        contact_missing="Please give an email address or a phone number.",
        not_taken=("We could not take this message. Please try again, or contact us "
                   "another way."),
        nothing_to_send="There is no conversation to send yet.",
        transcript_limit="The transcript was already sent three times.",
        bad_score="Choose a score from 1 to 5.",
        not_your_question="This question is not part of your chat.",
        bad_have="'have' takes at most {limit} line ids, separated by commas.",
        token_missing="This request needs the chat's session token.",
        token_expired="This chat session has expired: please start a new chat.",
        token_invalid="This chat session token is not valid: please start a new chat.",
        origin_refused="The chat may not be used from {origin}.",
        not_found="The chat has no such address.",
        refused="The chat could not do this ({code}). Please try again.",
    ),
    "zh": ChatPhrases(
        queued="谢谢。工作人员将很快为您服务。您的受理编号是{reference}。",
        nobody=("目前没有工作人员可以接待（非办公时间或全部忙碌）。您的留言已保存为案件{reference}："
                "请在下方留下电子邮件或电话号码，我们会在那里答复您。"),
        joined="{name}已加入对话。",
        ended="对话已结束。",
        contact_saved="谢谢：我们会答复到{where}。",
        acknowledged="我们已收到您的留言：受理编号{reference}。",
        transcript_subject="对话记录",
        transcript_you="您",
        survey="您对我们处理 {reference} 的满意度如何？请选择 1（很不满意）到 5（非常满意）。",
        survey_thanks="感谢您的评价：{score} 分（满分 5 分）。",
        transcript_sent="对话记录正在发送到您的邮箱。",
        not_json="请求格式不正确（需要一个 JSON 对象）。",
        bad_client_id="消息编号无效。",
        no_chat="此对话已不存在，请开始新的对话。",
        too_long="消息太长（{count} 个字符，最多 {limit} 个）。",
        far_too_long="消息太长（请求超过 {limit} 字节）。",
        empty="消息是空的。",
        ask_person_first="请先选择转人工服务。",
        chat_ended="此对话已结束。",
        too_many="消息太多：每分钟最多 {limit} 条，请稍候再发。",
        too_many_from_network="您所在网络发出的消息太多：每分钟最多 {limit} 条，请稍候再发。",
        already_handed_over="此对话已转人工服务或已结束。",
        not_published="该帮助文章未发布。",
        bad_email="这看起来不是有效的电子邮件地址，请检查。",
        bad_phone="这看起来不是有效的电话号码，请检查。",
        contact_missing="请留下电子邮件地址或电话号码。",
        not_taken="无法受理这条消息。请重试，或通过其他方式联系我们。",
        nothing_to_send="还没有可以发送的对话记录。",
        transcript_limit="对话记录已经发送过三次。",
        bad_score="请选择 1 到 5 分。",
        not_your_question="这个问题不属于您的对话。",
        bad_have="参数 have 最多包含 {limit} 个以逗号分隔的消息编号。",
        token_missing="此请求缺少对话凭证。",
        token_expired="此对话已过期，请开始新的对话。",
        token_invalid="此对话凭证无效，请开始新的对话。",
        origin_refused="不能从 {origin} 使用在线咨询。",
        not_found="在线咨询没有这个地址。",
        refused="在线咨询无法完成此操作（{code}）。请重试。",
    ),
}

NAMES = frozenset(field.name for field in fields(ChatPhrases))


def of(language: str) -> ChatPhrases:
    return PHRASES.get(language, PHRASES["en"])


def say(language: str, name: str, **values: object) -> str:
    """The phrase `name` in the language (English if the chat has no such language), filled
    with `values`."""
    text: str = getattr(of(language), name)
    return text.format(**values)
