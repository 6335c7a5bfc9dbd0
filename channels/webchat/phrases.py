"""The chat's fixed words, in English and Chinese (the widget's own labels are in chat.js)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatPhrases:
    queued: str
    nobody: str
    joined: str
    ended: str
    contact_saved: str
    acknowledged: str
    transcript_subject: str
    survey: str
    survey_thanks: str


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
        survey=("How satisfied are you with how we handled {reference}? "
                "Choose 1 (not at all) to 5 (very)."),
        survey_thanks="Thank you for your answer: {score} out of 5.",
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
        survey="您对我们处理 {reference} 的满意度如何？请选择 1（很不满意）到 5（非常满意）。",
        survey_thanks="感谢您的评价：{score} 分（满分 5 分）。",
    ),
}


def of(language: str) -> ChatPhrases:
    return PHRASES.get(language, PHRASES["en"])
